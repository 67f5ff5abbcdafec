import { readFileSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { AppError, fieldErrorsFromZod } from '../../shared/errors';

/**
 * The CLI's configuration file, `$XDG_CONFIG_HOME/breakglass/config.yaml` (default
 * `~/.config/breakglass/config.yaml`): named contexts, each a store, how to authenticate to it
 * and the default decision key, and which one is current (`breakglass context use prod`). It
 * holds no secrets: sessions live in the OS keychain (or the state dir), tokens in the
 * environment.
 */

export const ContextNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'context names are 1-64 letters, digits, . _ -');

export const ContextAuthSchema = z.enum(['login', 'token']);
export type ContextAuth = z.infer<typeof ContextAuthSchema>;

export const StoreUrlSchema = z
  .string()
  .regex(/^https?:\/\/[^\s/?#@]+(?:\/[^\s?#]*)?$/, 'must be an http(s) URL like https://breakglass.example.com, without credentials, query or fragment');

export const CliContextSchema = z.strictObject({
  store: StoreUrlSchema,
  /** `login`: the session from `breakglass login`; `token`: BREAKGLASS_TOKEN / --token (automation, admin bootstrap). */
  auth: ContextAuthSchema.default('login'),
  /** Private key file `approve`/`deny`/`ask`/`revoke` sign with when --key is not given (~ allowed). */
  decisionKey: z.string().min(1).max(4096).optional(),
});
export type CliContextConfig = z.infer<typeof CliContextSchema>;

export const CliConfigSchema = z.strictObject({
  currentContext: ContextNameSchema.optional(),
  contexts: z.record(ContextNameSchema, CliContextSchema).default({}),
});
export type CliConfig = z.infer<typeof CliConfigSchema>;

/** $XDG_CONFIG_HOME/breakglass/config.yaml, else ~/.config/breakglass/config.yaml. */
export { configPath } from './config-path';

/** `~/x` and `~` expanded against HOME; relative paths resolved against `base` (the config file's directory). */
export function expandPath(path: string, env: NodeJS.ProcessEnv, base: string): string {
  const home = env.HOME || homedir();
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return isAbsolute(path) ? path : resolve(base, path);
}

/**
 * The config at `path`; an empty config when the file does not exist. Errors name the file, line
 * and field. Synchronous: it is a small file read once per command, before any verb runs.
 */
export function readConfig(path: string): { config: CliConfig; exists: boolean } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { config: { contexts: {} }, exists: false };
    throw new AppError('invalid_input', `cannot read ${path}: ${(error as Error).message}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const pos = lineCounter.linePos(first.pos[0]);
    throw new AppError('invalid_input', `${path}:${pos.line}:${pos.col}: YAML syntax error: ${first.message.split('\n')[0]}`, { fieldErrors: [{ path: 'config', message: first.message.split('\n')[0]! }] });
  }
  const parsed = CliConfigSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const fieldErrors = fieldErrorsFromZod(parsed.error);
    throw new AppError('invalid_input', `${path}: ${fieldErrors.map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ')}`, { fieldErrors });
  }
  if (parsed.data.currentContext !== undefined && !(parsed.data.currentContext in parsed.data.contexts)) {
    throw new AppError('invalid_input', `${path}: currentContext "${parsed.data.currentContext}" is not one of the contexts (${Object.keys(parsed.data.contexts).join(', ') || 'none'})`, { fieldErrors: [{ path: 'currentContext', message: 'unknown context' }] });
  }
  return { config: parsed.data, exists: true };
}

/** Write the config atomically (mode 0600: it names stores and key files, not secrets, but is nobody else's business). */
export async function writeConfig(path: string, config: CliConfig): Promise<void> {
  const checked = CliConfigSchema.parse(config);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const text = `# Breakglass CLI configuration: contexts (store, auth, default decision key) and the current one.\n# Edit with \`breakglass context set|use|delete\`; see \`breakglass context --help\`.\n${stringify(checked)}`;
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

export interface SelectedContext {
  name: string;
  context: CliContextConfig;
  /** Why it was picked: the --use-context flag, BREAKGLASS_CONTEXT, or the config's currentContext. */
  source: '--use-context' | 'BREAKGLASS_CONTEXT' | 'currentContext';
}

/**
 * The context in force: --use-context, else BREAKGLASS_CONTEXT, else currentContext; undefined
 * when none is set. (The flag is not `--context`: `check --context KEY=VALUE` already means the
 * CI context recorded with an evaluation.)
 */
export function selectContext(config: CliConfig, flag: string | undefined, env: NodeJS.ProcessEnv, path: string): SelectedContext | undefined {
  const [name, source] = flag !== undefined ? [flag, '--use-context' as const] : env.BREAKGLASS_CONTEXT ? [env.BREAKGLASS_CONTEXT, 'BREAKGLASS_CONTEXT' as const] : [config.currentContext, 'currentContext' as const];
  if (name === undefined) return undefined;
  const context = config.contexts[name];
  if (!context) {
    const known = Object.keys(config.contexts);
    throw new AppError('invalid_input', `invalid ${source}: no context "${name}" in ${path} (contexts: ${known.join(', ') || 'none; add one with breakglass context set NAME --store URL'})`, {
      fieldErrors: [{ path: source, message: `no context "${name}"` }],
    });
  }
  return { name, context, source };
}
