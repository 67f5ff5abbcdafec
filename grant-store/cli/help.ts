import type { Command } from 'commander';

/** Append an "Examples:" block to a verb's --help (every verb has at least one). */
export function withExamples(cmd: Command, ...examples: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}
