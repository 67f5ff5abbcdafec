import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { displayText } from '../../shared/domain/display-text';
import { existsSync } from 'node:fs';
import type { ContextAuth, SelectedContext } from './config-file';
import { configPath } from './config-path';
import { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_STORE_URL, DEFAULT_TIMEOUT_MS } from './defaults';
import { StoreClient } from '../../shared/node/http/store-client';
import { nodeFetch } from '../../shared/node/http/node-fetch';
import type { CliIO } from './output';
import { parseDurationFlag, usageError } from './validate';

export { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_STORE_URL, DEFAULT_TIMEOUT_MS };

/** Options every verb accepts (defined once on the program, valid anywhere on the line). */
export interface GlobalFlags {
  store?: string;
  token?: string;
  useContext?: string;
  json?: boolean;
  dataDir?: string;
  timeout?: string;
}

export interface ResolvedGlobals {
  storeUrl: string;
  /** Where storeUrl came from, for messages. */
  storeSource: '--store' | 'BREAKGLASS_STORE' | 'context' | 'default';
  token: string | undefined;
  /** The config.yaml context in force, if any (its store and auth apply unless a flag or env var says otherwise). */
  context: SelectedContext | undefined;
  /** `login`: a saved session from `breakglass login`; `token`: --token / BREAKGLASS_TOKEN only. */
  auth: ContextAuth;
  json: boolean;
  dataDir: string;
  timeoutMs: number | undefined;
}

/** ~/.local/share/breakglass, or $XDG_DATA_HOME/breakglass when set. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'breakglass');
}

/**
 * What one CLI invocation shares between verbs: the output streams, the environment and the
 * exit code a verb sets when it refuses without throwing (e.g. `check` blocking).
 */
export class CliContext {
  exitCode = 0;

  constructor(
    readonly io: CliIO,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  private config: { path: string; context: SelectedContext | undefined; flag: string | undefined } | undefined;
  /** config-file.ts (YAML and its schema), loaded by prepareConfig() only when there is a config to read. */
  private configFile: typeof import('./config-file') | undefined;

  /**
   * Load what reads config.yaml when a run may need it: the file exists, or a context is named
   * (--use-context, BREAKGLASS_CONTEXT: an unknown one is an error even without a file). A gate
   * in CI usually has neither and does not pay for the YAML parser.
   */
  async prepareConfig(argv: readonly string[]): Promise<void> {
    const named = this.env.BREAKGLASS_CONTEXT || argv.some((a) => a === '--use-context' || a.startsWith('--use-context='));
    if (named || existsSync(configPath(this.env))) this.configFile = await import('./config-file');
  }

  /**
   * The config.yaml context in force (--use-context, BREAKGLASS_CONTEXT, currentContext), read
   * once per run; undefined when the file names none. A broken file or an unknown name is a
   * usage error naming the file.
   */
  configContext(cmd: Command): SelectedContext | undefined {
    const flag = cmd.optsWithGlobals<GlobalFlags>().useContext;
    if (!this.config || this.config.flag !== flag) {
      const path = configPath(this.env);
      // No file and no context named (see prepareConfig): no context, as an empty config gives.
      const file = this.configFile;
      this.config = { path, flag, context: file ? file.selectContext(file.readConfig(path).config, flag, this.env, path) : undefined };
    }
    return this.config.context;
  }

  /** The current context's default decision key (~ and paths relative to config.yaml resolved), if it names one. */
  contextDecisionKey(cmd: Command): string | undefined {
    const key = this.configContext(cmd)?.context.decisionKey;
    return key ? this.configFile!.expandPath(key, this.env, dirname(this.config!.path)) : undefined;
  }

  globals(cmd: Command): ResolvedGlobals {
    const flags = cmd.optsWithGlobals<GlobalFlags>();
    const explicitStore = flags.store ?? (this.env.BREAKGLASS_STORE || undefined);
    const explicitToken = flags.token ?? (this.env.BREAKGLASS_TOKEN || undefined);
    // The config file is read only when something is left to it: a gate with --store and a
    // token in its environment never touches it.
    const context = explicitStore !== undefined && explicitToken !== undefined && flags.useContext === undefined ? undefined : this.configContext(cmd);
    const storeUrl = explicitStore ?? context?.context.store ?? DEFAULT_STORE_URL;
    const storeSource = flags.store !== undefined ? '--store' : this.env.BREAKGLASS_STORE ? 'BREAKGLASS_STORE' : context ? 'context' : 'default';
    let parsed: URL | undefined;
    try {
      parsed = new URL(storeUrl);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      const source = storeSource === 'context' ? `store of context ${context!.name}` : storeSource;
      throw usageError(source, [{ path: source, message: `"${storeUrl}" is not an http(s) URL like ${DEFAULT_STORE_URL}` }]);
    }
    return {
      storeUrl,
      storeSource,
      token: explicitToken,
      context,
      auth: context?.context.auth ?? 'login',
      json: flags.json === true,
      dataDir: resolve(flags.dataDir ?? (this.env.BREAKGLASS_DATA_DIR || defaultDataDir(this.env))),
      timeoutMs: flags.timeout !== undefined ? parseDurationFlag(flags.timeout, '--timeout') : undefined,
    };
  }

  /**
   * A client for the store, authenticated by --token / BREAKGLASS_TOKEN, else by the session
   * `breakglass login` saved for this store (renewed from the IdP when about to expire). Without
   * either, the first call is a usage error saying both ways in.
   */
  client(cmd: Command, options: { defaultTimeoutMs?: number } = {}): StoreClient {
    const g = this.globals(cmd);
    const timeoutMs = g.timeoutMs ?? options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (g.token) return new StoreClient({ baseUrl: g.storeUrl, token: g.token, timeoutMs, fetchImpl: nodeFetch });
    if (g.auth === 'token') {
      throw usageError('credentials', [{ path: '--token', message: `no token: context ${g.context!.name} authenticates with a token (auth: token): pass --token TOKEN or set BREAKGLASS_TOKEN` }]);
    }
    const env = this.env;
    return new StoreClient({
      baseUrl: g.storeUrl,
      timeoutMs,
      fetchImpl: nodeFetch,
      tokenProvider: async () => {
        // Loaded only here: the vault, the OIDC client and the keychain module cost a gate nothing.
        const { savedSessionToken } = await import('./sign-in');
        const token = await savedSessionToken(env, g.storeUrl, timeoutMs);
        if (token) return token;
        throw usageError('credentials', [
          { path: '--token', message: `no token and not signed in to ${g.storeUrl}: run breakglass login, or pass --token TOKEN / set BREAKGLASS_TOKEN (automation: an admin creates one with breakglass admin token create)` },
        ]);
      },
      renewToken: async () => {
        const { savedSessionToken } = await import('./sign-in');
        return savedSessionToken(env, g.storeUrl, timeoutMs, { force: true });
      },
    });
  }

  /** Print a result: JSON for --json (stable, machine-readable), otherwise the human rendering. */
  emit(cmd: Command, value: unknown, human: () => string): void {
    if (this.globals(cmd).json) this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    // Last line of defence for a person's terminal: whatever a rendering forgot to escape, no
    // control or bidi character from stored text reaches it (newlines are the rendering's own).
    else this.io.stdout(displayText(human(), 'multiline'));
  }

  /** A diagnostic line (progress, warnings): stderr, so stdout stays clean for pipes. */
  note(text: string): void {
    this.io.stderr(`${text}\n`);
  }
}
