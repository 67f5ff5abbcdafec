import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { displayText } from '../../shared/domain/display-text';
import { StoreClient } from './http-client';
import type { CliIO } from './output';
import { parseDurationFlag, usageError } from './validate';

export const DEFAULT_STORE_URL = 'http://127.0.0.1:7410';
/** How long a verb waits for the store; `check` waits less because a gate must not hang CI. */
export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_CHECK_TIMEOUT_MS = 3_000;

/** Options every verb accepts (defined once on the program, valid anywhere on the line). */
export interface GlobalFlags {
  store?: string;
  token?: string;
  json?: boolean;
  dataDir?: string;
  timeout?: string;
}

export interface ResolvedGlobals {
  storeUrl: string;
  token: string | undefined;
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

  globals(cmd: Command): ResolvedGlobals {
    const flags = cmd.optsWithGlobals<GlobalFlags>();
    const storeUrl = flags.store ?? (this.env.BREAKGLASS_STORE || DEFAULT_STORE_URL);
    let parsed: URL | undefined;
    try {
      parsed = new URL(storeUrl);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      const source = flags.store !== undefined ? '--store' : 'BREAKGLASS_STORE';
      throw usageError(source, [{ path: source, message: `"${storeUrl}" is not an http(s) URL like ${DEFAULT_STORE_URL}` }]);
    }
    return {
      storeUrl,
      token: flags.token ?? (this.env.BREAKGLASS_TOKEN || undefined),
      json: flags.json === true,
      dataDir: resolve(flags.dataDir ?? (this.env.BREAKGLASS_DATA_DIR || defaultDataDir(this.env))),
      timeoutMs: flags.timeout !== undefined ? parseDurationFlag(flags.timeout, '--timeout') : undefined,
    };
  }

  /** A client for the store; every verb but `check` (which may run unauthenticated health probes) needs a token. */
  client(cmd: Command, options: { defaultTimeoutMs?: number; tokenRequired?: boolean } = {}): StoreClient {
    const g = this.globals(cmd);
    if ((options.tokenRequired ?? true) && !g.token) {
      throw usageError('credentials', [{ path: '--token', message: 'no token: pass --token TOKEN or set BREAKGLASS_TOKEN (an admin creates one with `breakglass admin token create`)' }]);
    }
    return new StoreClient({ baseUrl: g.storeUrl, token: g.token, timeoutMs: g.timeoutMs ?? options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS });
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
