import { homedir, hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { usageError, validateFlags } from '../validate';

const MAX_PORT = 65_535;
/** `breakglass witness serve`'s default port (the store is 7410, the browser host 7420). */
const DEFAULT_WITNESS_PORT = 7430;

/** $XDG_STATE_HOME/breakglass/witness (default ~/.local/state/...): the standalone witness's key and records. */
export function defaultWitnessDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'breakglass', 'witness');
}

function stateDirOf(flags: { stateDir?: string }, env: NodeJS.ProcessEnv): string {
  return resolve(flags.stateDir ?? (env.BREAKGLASS_WITNESS_DIR || defaultWitnessDir(env)));
}

/** A default witness name: `<host>/<user>/witness`, without spaces or "+". */
export function defaultWitnessName(): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._@-]+/g, '-') || 'unknown';
  let user = 'user';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the generic name is fine, the key is what matters.
  }
  return `${clean(hostname())}/${clean(user)}/witness`;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveSignal(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

const InitFlagsSchema = z.strictObject({ name: z.string().min(1).max(200).regex(/^[^\s+]+$/u, 'a witness name has no spaces and no "+" (e.g. witness.example.com/w1)').optional(), stateDir: z.string().min(1).optional() });

/** `breakglass witness init|vkey|add-log|serve`: an always-on C2SP tlog-witness for the store's log. */
export function registerWitnessCommands(program: Command, ctx: CliContext): void {
  const witness = withExamples(
    program.command('witness').description('run a standalone transparency-log witness (C2SP tlog-witness): it cosigns checkpoints only if they extend the ones it cosigned before'),
    'breakglass witness init --name witness.example.com/w1',
    'breakglass witness add-log "$(breakglass ledger vkey)"',
    'breakglass witness serve --port 7430',
  );
  const stateOption = (cmd: Command) => cmd.option('--state-dir <dir>', 'where the witness key and its records live (env BREAKGLASS_WITNESS_DIR, default ~/.local/state/breakglass/witness)');

  withExamples(
    stateOption(witness.command('init').description('create the witness key (Ed25519, mode 0600) and print its vkey for the policy\'s `witnesses:`').option('--name <name>', 'the witness key name, a schema-less URL such as witness.example.com/w1')),
    'breakglass witness init --name witness.example.com/w1',
  ).action(async (flags: { name?: string; stateDir?: string }, cmd: Command) => {
    const opts = validateFlags(InitFlagsSchema, flags, 'witness init', { name: '--name', stateDir: '--state-dir' });
    const dir = stateDirOf(opts, ctx.env);
    const { loadOrCreateWitnessKey } = await import('../../witness/witness-key-file');
    const identity = await loadOrCreateWitnessKey(dir, opts.name ?? defaultWitnessName());
    if (!identity.created && opts.name && opts.name !== identity.cosigner.key.name) {
      throw usageError('witness init', [{ path: '--name', message: `${dir} already holds witness ${identity.cosigner.key.name}; a witness keeps its name (use another --state-dir)` }]);
    }
    ctx.emit(cmd, { stateDir: dir, name: identity.cosigner.key.name, vkey: identity.vkey, created: identity.created }, () =>
      `${identity.created ? 'Created' : 'Already set up:'} witness ${identity.cosigner.key.name} in ${dir}\nvkey (add it to the policy's witnesses:):\n${identity.vkey}\n`,
    );
  });

  withExamples(stateOption(witness.command('vkey').description('print the witness\'s verifier key (C2SP vkey, cosignature/v1)')), 'breakglass witness vkey').action(async (flags: { stateDir?: string }, cmd: Command) => {
    const { loadWitnessKey } = await import('../../witness/witness-key-file');
    const identity = await loadWitnessKey(stateDirOf(flags, ctx.env));
    ctx.emit(cmd, { name: identity.cosigner.key.name, vkey: identity.vkey }, () => `${identity.vkey}\n`);
  });

  withExamples(
    stateOption(witness.command('add-log').description('follow a log: its checkpoint vkey (from `breakglass ledger vkey`); its origin is the vkey\'s name').argument('<vkey>', 'the log\'s C2SP verifier key')),
    'breakglass witness add-log "$(breakglass ledger vkey)"',
  ).action(async (vkey: string, flags: { stateDir?: string }, cmd: Command) => {
    const { addWitnessedLog } = await import('../../witness/standalone-witness');
    const dir = stateDirOf(flags, ctx.env);
    const origin = await addWitnessedLog(dir, vkey);
    ctx.emit(cmd, { stateDir: dir, origin }, () => `Witness in ${dir} now follows ${origin} (restart \`witness serve\` to pick it up).\n`);
  });

  withExamples(
    stateOption(
      witness
        .command('serve')
        .description('serve POST /add-checkpoint (C2SP tlog-witness) until Ctrl-C / SIGTERM')
        .option('--host <host>', 'address to listen on; anything but loopback needs --tls-cert and --tls-key', '127.0.0.1')
        .option('--port <port>', 'port (0 = any free port)', String(DEFAULT_WITNESS_PORT))
        .option('--tls-cert <file>', 'TLS certificate (PEM)')
        .option('--tls-key <file>', 'TLS private key (PEM)'),
    ),
    'breakglass witness serve --port 7430',
    'breakglass witness serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --json',
  ).action(async (flags: { host: string; port: string; tlsCert?: string; tlsKey?: string; stateDir?: string }, cmd: Command) => {
    const port = Number(flags.port);
    if (!/^\d+$/.test(flags.port) || port > MAX_PORT) throw usageError('witness serve', [{ path: '--port', message: `"${flags.port}" is not a port number (0-${MAX_PORT})` }]);
    const dir = stateDirOf(flags, ctx.env);
    const { startWitnessServer } = await import('../../witness/witness-server');
    const running = await startWitnessServer({ stateDir: dir, host: flags.host, port, tlsCertPath: flags.tlsCert, tlsKeyPath: flags.tlsKey, log: (message) => ctx.note(message) });
    const info = { url: running.url, name: running.witness.identity.cosigner.key.name, vkey: running.witness.identity.vkey, logs: running.witness.origins, stateDir: dir, pid: process.pid };
    // One JSON line (a ready line scripts and tests wait for), as `serve --json` prints.
    if (ctx.globals(cmd).json) ctx.io.stdout(`${JSON.stringify(info)}\n`);
    else ctx.io.stdout(`Witness ${info.name} listening on ${info.url}\n  vkey: ${info.vkey}\n  logs: ${info.logs.join(', ') || 'none yet (breakglass witness add-log <vkey>)'}\nCtrl-C to stop.\n`);
    const signal = await untilSignal();
    ctx.note(`${signal}: stopping the witness...`);
    await running.close();
  });
}
