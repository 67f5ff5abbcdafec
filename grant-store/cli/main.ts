import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { AppError } from '../../shared/errors';
import { registerAdmin } from './commands/admin';
import { registerAdminInit } from './commands/admin-init';
import { registerAdminMigrate } from './commands/admin-migrate';
import { registerCheck } from './commands/check';
import { registerDecisions } from './commands/decide';
import { registerKeygen } from './commands/keygen';
import { registerLedgerCommands } from './commands/ledger';
import { registerReport } from './commands/report';
import { registerRequest } from './commands/request';
import { registerReview } from './commands/review';
import { registerServe } from './commands/serve';
import { registerStatus } from './commands/status';
import { registerWhoami } from './commands/whoami';
import { CliContext } from './context';
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE, exitCodeForError } from './exit-codes';
import { withExamples } from './help';
import { formatError, processIO, type CliIO } from './output';

/** The `breakglass` command tree. Global options are valid anywhere on the command line. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('breakglass')
    .description('Break-glass for policy gates: scoped, signed, time-boxed bypasses with a tamper-evident ledger.')
    .option('--store <url>', 'grant store URL (env BREAKGLASS_STORE, default http://127.0.0.1:7410)')
    .option('--token <token>', 'your bearer token (env BREAKGLASS_TOKEN)')
    .option('--data-dir <dir>', 'data directory for serve and admin init/migrate (env BREAKGLASS_DATA_DIR, default ~/.local/share/breakglass)')
    .option('--json', 'machine-readable output on stdout (errors as {"error": ...} on stderr)')
    .option('--timeout <duration>', 'how long to wait for the store, e.g. 3s or 500ms (default 3s for check, 15s otherwise)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) })
    .showHelpAfterError('(run with --help for usage and examples)')
    .exitOverride();
  withExamples(
    program,
    'breakglass request --gate container-signing --scope repo=payments-api,branch=main --reason "Hotfix for INC-1190: signer outage" --incident INC-1190 --severity sev1 --ttl 1h',
    'breakglass check --gate container-signing --subject repo=payments-api,branch=main',
    'breakglass approve req_0123456789abcdef --comment "ok" --key bob.pem',
  );

  registerServe(program, ctx);
  registerRequest(program, ctx);
  registerCheck(program, ctx);
  registerDecisions(program, ctx);
  registerStatus(program, ctx);
  registerReview(program, ctx);
  registerKeygen(program, ctx);
  registerWhoami(program, ctx);
  registerReport(program, ctx);
  const ledger = withExamples(
    program.command('ledger').description('the append-only, Merkle-tree ledger: verify it, export it, get its trusted root'),
    'breakglass ledger verify',
    'breakglass ledger export --format jsonl > ledger.jsonl',
  );
  registerLedgerCommands(ledger, ctx);
  const admin = registerAdmin(program, ctx);
  registerAdminInit(admin, ctx);
  registerAdminMigrate(admin, ctx);
  return program;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** `breakglass ... | head` closes the pipe early: that is the reader's choice, not a failure. */
let brokenPipeHandled = false;
function exitQuietlyOnBrokenPipe(): void {
  if (brokenPipeHandled) return;
  brokenPipeHandled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

/**
 * Run the CLI on `argv` (without node and the script) and return the exit code:
 * 0 ok (check: pass or warn), 1 refused / blocked / failed, 2 bad usage or invalid input.
 */
export async function main(argv: string[], io: CliIO = processIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (io === processIO) exitQuietlyOnBrokenPipe();
  const ctx = new CliContext(io, env);
  const program = buildProgram(ctx);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (and the help hint) on stderr.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
    }
    const appError = error instanceof AppError ? error : new AppError('internal', `unexpected failure: ${(error as Error)?.stack ?? String(error)}`);
    io.stderr(json ? `${JSON.stringify({ error: appError.toBody() })}\n` : formatError(appError));
    return error instanceof AppError ? exitCodeForError(appError.code) : EXIT_REFUSED;
  }
}
