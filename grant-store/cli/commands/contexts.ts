import type { Command } from 'commander';
import { AppError } from '../../../shared/errors';
import { CliContextSchema, ContextNameSchema, configPath, readConfig, writeConfig, type CliConfig, type CliContextConfig } from '../config-file';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { usageError, validateFlags } from '../validate';

interface SetFlags {
  auth?: string;
  decisionKey?: string;
  use?: boolean;
}

function contextName(name: string): string {
  return validateFlags(ContextNameSchema, name, 'context', { '': 'NAME' });
}

function load(ctx: CliContext): { path: string; config: CliConfig } {
  const path = configPath(ctx.env);
  return { path, config: readConfig(path).config };
}

function known(config: CliConfig, name: string, path: string): CliContextConfig {
  const context = config.contexts[name];
  if (!context) {
    throw new AppError('not_found', `no context "${name}" in ${path} (contexts: ${Object.keys(config.contexts).join(', ') || 'none; add one with breakglass context set NAME --store URL'})`);
  }
  return context;
}

function line(name: string, c: CliContextConfig, current: boolean): string {
  return `${current ? '*' : ' '} ${name.padEnd(16)} ${c.store}  auth: ${c.auth}${c.decisionKey ? `  key: ${c.decisionKey}` : ''}`;
}

/** `context list|current|use|set|delete`: named stores in ~/.config/breakglass/config.yaml and which one is in force. */
export function registerContexts(program: Command, ctx: CliContext): void {
  const context = withExamples(
    program
      .command('context')
      .description('named grant stores (store URL, how to authenticate, default decision key) in ~/.config/breakglass/config.yaml; pick one with `context use`'),
    'breakglass context set prod --store https://breakglass.example.com --decision-key ~/.breakglass/bob.pem --use',
    'breakglass context use prod',
    'breakglass context list',
    'BREAKGLASS_CONTEXT=staging breakglass status req_0123456789abcdef',
  );

  withExamples(context.command('list').description('every context; * marks the current one'), 'breakglass context list', 'breakglass context list --json')
    .action((_flags: unknown, cmd: Command) => {
      const { path, config } = load(ctx);
      const current = ctx.configContext(cmd)?.name;
      ctx.emit(cmd, { path, current: current ?? null, contexts: config.contexts }, () => {
        const names = Object.keys(config.contexts);
        if (names.length === 0) return `No contexts in ${path}. Add one: breakglass context set NAME --store URL --use\n`;
        return `${names.map((n) => line(n, config.contexts[n]!, n === current)).join('\n')}\n`;
      });
    });

  withExamples(context.command('current').description('the context in force and why (--use-context, BREAKGLASS_CONTEXT or currentContext)'), 'breakglass context current')
    .action((_flags: unknown, cmd: Command) => {
      const selected = ctx.configContext(cmd);
      const { path } = load(ctx);
      ctx.emit(cmd, selected ? { path, name: selected.name, source: selected.source, ...selected.context } : { path, name: null }, () =>
        selected ? `${selected.name} (from ${selected.source}): ${selected.context.store}, auth: ${selected.context.auth}\n` : `No context in force (${path}); commands use --store / BREAKGLASS_STORE or http://127.0.0.1:7410.\n`,
      );
    });

  withExamples(context.command('use').description('make NAME the current context').argument('<name>', 'context name'), 'breakglass context use prod')
    .action(async (raw: string, _flags: unknown, cmd: Command) => {
      const name = contextName(raw);
      const { path, config } = load(ctx);
      const chosen = known(config, name, path);
      await writeConfig(path, { ...config, currentContext: name });
      ctx.emit(cmd, { path, current: name, context: chosen }, () => `Now using context ${name}: ${chosen.store} (auth: ${chosen.auth}).\n`);
    });

  withExamples(
    context
      .command('set')
      .description('add or change a context (only the options given change; --store URL names its store)')
      .argument('<name>', 'context name (letters, digits, . _ -)')
      .option('--auth <how>', 'login (a session from breakglass login, the default) or token (BREAKGLASS_TOKEN, for automation)')
      .option('--decision-key <file>', 'private key approve/deny/ask/revoke sign with when --key is not given (~ allowed)')
      .option('--use', 'also make it the current context'),
    'breakglass context set prod --store https://breakglass.example.com --use',
    'breakglass context set ci --store https://breakglass.example.com --auth token',
  )
    .action(async (raw: string, flags: SetFlags, cmd: Command) => {
      const name = contextName(raw);
      const { path, config } = load(ctx);
      const before = config.contexts[name];
      // --store is the global option: here it names the context's store.
      const store = cmd.optsWithGlobals<{ store?: string }>().store;
      if (!before && store === undefined) throw usageError('context', [{ path: '--store', message: `required for a new context: the grant store URL, e.g. --store https://breakglass.example.com` }]);
      const merged = {
        ...(before ?? {}),
        ...(store !== undefined ? { store } : {}),
        ...(flags.auth !== undefined ? { auth: flags.auth } : {}),
        ...(flags.decisionKey !== undefined ? { decisionKey: flags.decisionKey } : {}),
      };
      const next = validateFlags(CliContextSchema, merged, 'context', { store: '--store', auth: '--auth', decisionKey: '--decision-key' });
      const updated: CliConfig = { ...config, contexts: { ...config.contexts, [name]: next }, ...(flags.use ? { currentContext: name } : {}) };
      await writeConfig(path, updated);
      ctx.emit(cmd, { path, name, context: next, current: updated.currentContext ?? null }, () =>
        `${before ? 'Changed' : 'Added'} context ${name} in ${path}: ${next.store} (auth: ${next.auth})${flags.use ? '; it is now the current context' : ''}.\n`,
      );
    });

  withExamples(context.command('delete').description('remove a context (and unset it as current)').argument('<name>', 'context name'), 'breakglass context delete staging')
    .action(async (raw: string, _flags: unknown, cmd: Command) => {
      const name = contextName(raw);
      const { path, config } = load(ctx);
      known(config, name, path);
      const contexts = { ...config.contexts };
      delete contexts[name];
      const updated: CliConfig = { contexts, ...(config.currentContext && config.currentContext !== name ? { currentContext: config.currentContext } : {}) };
      await writeConfig(path, updated);
      ctx.emit(cmd, { path, deleted: name, current: updated.currentContext ?? null }, () => `Deleted context ${name} from ${path}.\n`);
    });
}
