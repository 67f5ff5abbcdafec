import type { Command } from 'commander';
import { COMPLETION_SHELLS, completionScript, type CompletionShell } from '../completion';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { usageError } from '../validate';

export function registerCompletion(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('completion')
      .description('print the shell completion script for bash, zsh or fish (verbs, subcommands, options and their values)')
      .argument('<shell>', COMPLETION_SHELLS.join(' | ')),
    'breakglass completion bash > ~/.local/share/bash-completion/completions/breakglass',
    'breakglass completion zsh > "${fpath[1]}/_breakglass"',
    'breakglass completion fish > ~/.config/fish/completions/breakglass.fish',
    'source <(breakglass completion bash)   # this shell only',
  ).action(async (shell: string) => {
    if (!(COMPLETION_SHELLS as readonly string[]).includes(shell)) {
      throw usageError('shell', [{ path: 'SHELL', message: `"${shell}" is not a shell this CLI completes: one of ${COMPLETION_SHELLS.join(', ')}` }]);
    }
    // The whole tree, every verb loaded: completion is generated from what the CLI really accepts.
    const { buildProgram } = await import('../main');
    const full = await buildProgram(ctx);
    ctx.io.stdout(completionScript(shell as CompletionShell, full));
  });
}
