import type { Command } from 'commander';
import type { CliContext } from './context';
import { withExamples } from './help';
import { verbOf } from './verb';

export { verbOf };

/** Adds one top-level verb (or a verb group) to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/**
 * One top-level verb (or several that share a module) and how to load it. The loader is a
 * dynamic import so that a run of `breakglass check` parses and evaluates only the check
 * module (and what it imports), not the signer, the ledger verifier or the store: a gate pays
 * for one verb, not forty. Add a new verb here, in the order `--help` lists it.
 */
export interface CommandModule {
  /** The top-level names this module registers, e.g. ['approve', 'deny', 'ask', 'revoke']. */
  names: readonly string[];
  load: () => Promise<RegisterCommand>;
}

export const COMMAND_TABLE: readonly CommandModule[] = [
  { names: ['serve'], load: async () => (await import('./commands/serve')).registerServe },
  { names: ['request'], load: async () => (await import('./commands/request')).registerRequest },
  { names: ['check'], load: async () => (await import('./commands/check')).registerCheck },
  { names: ['approve', 'deny', 'ask', 'revoke'], load: async () => (await import('./commands/decide')).registerDecisions },
  { names: ['status'], load: async () => (await import('./commands/status')).registerStatus },
  { names: ['review'], load: async () => (await import('./commands/review')).registerReview },
  { names: ['keygen'], load: async () => (await import('./commands/keygen')).registerKeygen },
  { names: ['login', 'logout'], load: async () => {
      const { registerLogin, registerLogout } = await import('./commands/login');
      return (program, ctx) => {
        registerLogin(program, ctx);
        registerLogout(program, ctx);
      };
    },
  },
  { names: ['context'], load: async () => (await import('./commands/contexts')).registerContexts },
  { names: ['whoami'], load: async () => (await import('./commands/whoami')).registerWhoami },
  { names: ['report'], load: async () => (await import('./commands/report')).registerReport },
  { names: ['emergency'], load: async () => (await import('./commands/emergency')).registerEmergency },
  { names: ['history'], load: async () => (await import('./commands/history')).registerHistory },
  { names: ['audit'], load: async () => (await import('./commands/audit')).registerAudit },
  {
    names: ['ledger'],
    load: async () => {
      const { registerLedgerCommands } = await import('./commands/ledger');
      return (program, ctx) => {
        const ledger = withExamples(
          program.command('ledger').description('the append-only, Merkle-tree ledger: verify it, export it, get its trusted root'),
          'breakglass ledger verify',
          'breakglass ledger export --format jsonl > ledger.jsonl',
        );
        registerLedgerCommands(ledger, ctx);
      };
    },
  },
  { names: ['completion'], load: async () => (await import('./commands/completion')).registerCompletion },
  { names: ['witness'], load: async () => (await import('./commands/witness')).registerWitnessCommands },
  {
    names: ['admin'],
    load: async () => {
      const [{ registerAdmin }, { registerAdminInit }, { registerAdminMigrate }, { registerAdminEmergency }] = await Promise.all([
        import('./commands/admin'),
        import('./commands/admin-init'),
        import('./commands/admin-migrate'),
        import('./commands/emergency'),
      ]);
      return (program, ctx) => {
        const admin = registerAdmin(program, ctx);
        registerAdminInit(admin, ctx);
        registerAdminMigrate(admin, ctx);
        registerAdminEmergency(admin, ctx);
      };
    },
  },
];

/**
 * The modules a command line needs: only its verb's when the verb is known; none for a bare
 * `--version`; every one otherwise (help, an unknown verb, so commander can list the verbs
 * and suggest the closest).
 */
export function modulesFor(argv: readonly string[]): readonly CommandModule[] {
  const verb = verbOf(argv);
  if (verb === undefined) {
    const versionOnly = argv.some((a) => a === '--version' || a === '-V') && !argv.some((a) => a === '--help' || a === '-h');
    return versionOnly ? [] : COMMAND_TABLE;
  }
  const module = COMMAND_TABLE.find((m) => m.names.includes(verb));
  return module ? [module] : COMMAND_TABLE;
}

/** Register `modules` on `program` in table order (loaded in parallel). */
export async function registerModules(program: Command, ctx: CliContext, modules: readonly CommandModule[]): Promise<void> {
  const registers = await Promise.all(modules.map((m) => m.load()));
  for (const register of registers) register(program, ctx);
}
