import { Option, type Command } from 'commander';
import { AppError } from '../../../shared/errors';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { usageError } from '../validate';
import type { StoreLogLevel } from '../../logger';

const MAX_PORT = 65_535;
/** The store's defaults (grant-store/http/server.ts), repeated so `--help` does not load the whole store. */
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 7410;
/** grant-store/logger.ts STORE_LOG_LEVELS, repeated for the same reason. */
const LOG_LEVELS: readonly StoreLogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface ServeFlags {
  host: string;
  port: string;
  tlsCert?: string;
  tlsKey?: string;
  policy?: string;
  databaseUrl?: string;
  log?: boolean;
  logLevel?: StoreLogLevel;
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, `kill`, systemd stop, a test's after()). */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export function registerServe(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('serve')
      .description('run the grant store on a data dir (made by `breakglass admin init`) until Ctrl-C / SIGTERM')
      .option('--host <host>', 'address to listen on; anything but loopback needs --tls-cert and --tls-key', DEFAULT_HOST)
      .option('--port <port>', 'port (0 = any free port)', String(DEFAULT_PORT))
      .option('--tls-cert <file>', 'TLS certificate (PEM)')
      .option('--tls-key <file>', 'TLS private key (PEM)')
      .option('--policy <file>', 'policy file (default <data-dir>/policy.yaml)')
      .option('--database-url <url>', 'Postgres instead of the embedded SQLite (env BREAKGLASS_DATABASE_URL)')
      .option('--log', 'also log every HTTP request (JSON lines on stderr; problems are always logged)')
      .addOption(new Option('--log-level <level>', 'log level (default warn; info with --log)').choices([...LOG_LEVELS])),
    'breakglass serve --data-dir ~/.local/share/breakglass',
    'breakglass serve --host 0.0.0.0 --port 7410 --tls-cert cert.pem --tls-key key.pem',
    'breakglass serve --data-dir ./data --port 0 --json     # prints {"url":...} for scripts',
  ).action(async (flags: ServeFlags, cmd: Command) => {
    const port = Number(flags.port);
    if (!/^\d+$/.test(flags.port) || port > MAX_PORT) throw usageError('serve', [{ path: '--port', message: `"${flags.port}" is not a port number (0-${MAX_PORT})` }]);
    const databaseUrl = flags.databaseUrl ?? (ctx.env.BREAKGLASS_DATABASE_URL || undefined);
    if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw usageError('serve', [{ path: '--database-url', message: 'must be a postgres:// URL' }]);
    const g = ctx.globals(cmd);
    // Loaded on demand: the store (Fastify, SQLite, the ledger) is heavy and only `serve` needs it.
    const { startGrantStore } = await import('../../http/server');
    let store;
    try {
      store = await startGrantStore({
        dataDir: g.dataDir,
        host: flags.host,
        port,
        tlsCertPath: flags.tlsCert,
        tlsKeyPath: flags.tlsKey,
        policyPath: flags.policy,
        databaseUrl,
        logRequests: flags.log === true,
        logLevel: flags.logLevel,
        env: ctx.env,
      });
    } catch (error) {
      throw explainStartFailure(error, g.dataDir, flags.host, port);
    }
    const info = { url: store.url, dataDir: g.dataDir, policy: flags.policy ?? `${g.dataDir}/policy.yaml`, backend: databaseUrl ? 'postgres' : 'sqlite', pid: process.pid };
    if (g.json) ctx.io.stdout(`${JSON.stringify(info)}\n`);
    else ctx.io.stdout(`Grant store listening on ${store.url}\n  data dir: ${info.dataDir}\n  policy:   ${info.policy}\n  backend:  ${info.backend}\nCtrl-C to stop.\n`);
    const signal = await untilSignal();
    ctx.note(`${signal}: stopping the grant store...`);
    await store.close();
    ctx.note('stopped.');
  });
}

/** Turn the usual start failures (no data dir, port taken) into messages that say what to do. */
function explainStartFailure(error: unknown, dataDir: string, host: string, port: number): unknown {
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') return new AppError('unavailable', `${host}:${port} is already in use: is another grant store running? Pick another --port.`);
  if (e?.code === 'EACCES') return new AppError('unavailable', `not allowed to listen on ${host}:${port}: use a port above 1023`);
  if (e?.code === 'ENOENT' && !(error instanceof AppError)) {
    return new AppError('invalid_input', `cannot start on ${dataDir}: ${e.message}. Create a data dir with \`breakglass admin init --data-dir ${dataDir}\``, {
      fieldErrors: [{ path: '--data-dir', message: 'not an initialised data dir' }],
    });
  }
  return error;
}
