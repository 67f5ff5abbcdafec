// Which verb a command line runs, read without commander: bin/breakglass.cjs's `check` fast
// path and command-table.ts (which loads only that verb's module) both ask.

/** Global options that take a value (`--store URL`): the token after them is not a verb. */
export const GLOBAL_OPTIONS_WITH_VALUE: ReadonlySet<string> = new Set(['--store', '--token', '--use-context', '--data-dir', '--timeout']);

/** The verb on a command line: the first word that is neither an option nor a global option's value. */
export function verbOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return argv[i + 1];
    if (!arg.startsWith('-')) return arg;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
  }
  return undefined;
}
