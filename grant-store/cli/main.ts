import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { modulesFor, registerModules, COMMAND_TABLE, type CommandModule } from './command-table';
import type { CliContext } from './context';
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE, exitCodeForError } from './exit-codes';
import { withExamples } from './help';
import { exitQuietlyOnBrokenPipe, formatError, processIO, type CliIO } from './output';
import { usageErrorBody } from './usage-errors';

/**
 * The root command: global options (valid anywhere on the command line), version, output.
 * With `json`, commander prints nothing itself: main() turns its usage errors into the same
 * `{"error": ...}` body every other error gets.
 */
export function createRootCommand(io: CliIO, options: { json?: boolean } = {}): Command {
  const program = new Command('breakglass')
    .description('Break-glass for policy gates: scoped, signed, time-boxed bypasses with a tamper-evident ledger.')
    .option('--store <url>', 'grant store URL (env BREAKGLASS_STORE, default http://127.0.0.1:7410)')
    .option('--token <token>', 'a bearer token (env BREAKGLASS_TOKEN); people sign in with breakglass login instead')
    .option('--use-context <name>', 'the config.yaml context to use (env BREAKGLASS_CONTEXT; see breakglass context list)')
    .option('--data-dir <dir>', 'data directory for serve and admin init/migrate (env BREAKGLASS_DATA_DIR, default ~/.local/share/breakglass)')
    .option('--json', 'machine-readable output on stdout (errors as {"error": ...} on stderr)')
    .option('--timeout <duration>', 'how long to wait for the store, e.g. 3s or 500ms (default 3s for check, 15s otherwise)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => (options.json ? undefined : write(s)),
    })
    .showHelpAfterError(options.json ? false : '(run with --help for usage and examples)')
    .exitOverride();
  return withExamples(
    program,
    'breakglass request --gate container-signing --scope repo=payments-api,branch=main --reason "Hotfix for INC-1190: signer outage" --incident INC-1190 --severity sev1 --ttl 1h',
    'breakglass check --gate container-signing --subject repo=payments-api,branch=main',
    'breakglass approve req_0123456789abcdef --comment "ok" --key bob.pem',
  );
}

/**
 * The `breakglass` command tree: every verb when `argv` is omitted, otherwise only what that
 * command line needs (command-table.ts), so a gate's `check` loads one verb.
 */
export async function buildProgram(ctx: CliContext, argv?: readonly string[]): Promise<Command> {
  const program = createRootCommand(ctx.io, { json: argv?.includes('--json') });
  await registerModules(program, ctx, argv === undefined ? COMMAND_TABLE : modulesFor(argv));
  return program;
}

/**
 * The program for one command line. A bare `--version` needs no verb, so neither the context
 * (and the HTTP client and schemas it brings) nor any verb module is loaded for it.
 */
async function programFor(argv: readonly string[], io: CliIO, env: NodeJS.ProcessEnv): Promise<{ program: Command; ctx?: CliContext }> {
  const modules: readonly CommandModule[] = modulesFor(argv);
  if (modules.length === 0) return { program: createRootCommand(io, { json: argv.includes('--json') }) };
  const { CliContext } = await import('./context');
  const ctx = new CliContext(io, env);
  await ctx.prepareConfig(argv);
  const program = createRootCommand(io, { json: argv.includes('--json') });
  await registerModules(program, ctx, modules);
  return { program, ctx };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Run the CLI on `argv` (without node and the script) and return the exit code:
 * 0 ok (check: pass or warn), 1 refused / blocked / failed, 2 bad usage or invalid input.
 */
export async function main(argv: string[], io: CliIO = processIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (io === processIO) exitQuietlyOnBrokenPipe();
  const json = argv.includes('--json');
  try {
    const { program, ctx } = await programFor(argv, io, env);
    await program.parseAsync(argv, { from: 'user' });
    return ctx?.exitCode ?? EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
      // Without --json commander already printed its message and the help hint on stderr.
      if (json) io.stderr(`${JSON.stringify({ error: usageErrorBody(error) })}\n`);
      return EXIT_USAGE;
    }
    return reportError(error, json, io);
  }
}

/**
 * Print a failure that is not commander's (as `{"error": ...}` on stderr with --json) and
 * return its exit code. `breakglass check`'s fast path (fast-check.ts) reports through it too.
 */
export async function reportError(error: unknown, json: boolean, io: CliIO): Promise<number> {
  // Loaded here, not up front: `--version` and `--help` never need the error schemas.
  const { AppError, toAppError } = await import('../../shared/errors');
  const appError = toAppError(error, (e) => `unexpected failure: ${(e as Error)?.stack ?? String(e)}`);
  io.stderr(json ? `${JSON.stringify({ error: appError.toBody() })}\n` : formatError(appError));
  return error instanceof AppError ? exitCodeForError(appError.code) : EXIT_REFUSED;
}
