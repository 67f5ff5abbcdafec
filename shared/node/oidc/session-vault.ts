import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { SessionInfoSchema } from '../../domain/session';
import { AppError } from '../../errors';
import { KEYCHAIN_SERVICE, loadKeytar, withKeychainDeadline, type KeychainBackend } from '../keychain';

/** What a signed-in CLI (or console) keeps per store: the store session and the IdP refresh token that renews it. */
export const StoredSignInSchema = z.strictObject({
  version: z.literal(1),
  storeUrl: z.string(),
  /** The store session bearer token (bgs_...). */
  session: z.string(),
  info: SessionInfoSchema,
  idp: z.strictObject({ issuer: z.string(), clientId: z.string(), refreshToken: z.string().optional() }),
});
export type StoredSignIn = z.infer<typeof StoredSignInSchema>;

/** Where sign-ins are kept; `where` says it in words for the person. */
export interface SessionVault {
  readonly kind: 'keychain' | 'file';
  /** e.g. "the OS keychain" or "/home/a/.local/state/breakglass/sessions (files of mode 0600)". */
  readonly where: string;
  /** Why the keychain is not used (kind file only). */
  readonly keychainProblem?: string;
  load(storeUrl: string): Promise<StoredSignIn | undefined>;
  save(signIn: StoredSignIn): Promise<void>;
  /** True when something was removed. */
  remove(storeUrl: string): Promise<boolean>;
}

export const KEYCHAIN_TIMEOUT_MS = 5_000;
const PROBE_ACCOUNT = 'breakglass-keychain-probe';

/** ~/.local/state/breakglass, or $XDG_STATE_HOME/breakglass. */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'breakglass');
}

/** One key per store: scheme, host, port and path, without a trailing slash. */
export function storeKey(storeUrl: string): string {
  const url = new URL(storeUrl);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The OS keychain when one answers, otherwise files of mode 0600 in the state directory (the
 * caller tells the person which, in plain words). `backend: null` forces the file (tests,
 * BREAKGLASS_SESSION_STORE=file).
 */
export async function openSessionVault(options: { stateDir: string; backend?: KeychainBackend | null; timeoutMs?: number }): Promise<SessionVault> {
  const timeoutMs = options.timeoutMs ?? KEYCHAIN_TIMEOUT_MS;
  let problem: string;
  if (options.backend === null) {
    problem = 'the file store was asked for';
  } else {
    try {
      const backend = options.backend ?? (await loadKeytar());
      await withKeychainDeadline('reach the keychain', timeoutMs, () => backend.getPassword(KEYCHAIN_SERVICE, PROBE_ACCOUNT));
      return new KeychainVault(backend, timeoutMs);
    } catch (error) {
      problem = (error as Error).message;
    }
  }
  return new FileVault(join(options.stateDir, 'sessions'), problem);
}

/** The file vault alone (no keychain probe): where a sign-in saved without a keychain is found again, cheaply. */
export function openFileVault(stateDir: string, keychainProblem: string): SessionVault {
  return new FileVault(join(stateDir, 'sessions'), keychainProblem);
}

function parseStored(text: string, where: string): StoredSignIn {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AppError('invalid_input', `the saved sign-in in ${where} is not JSON (${(error as Error).message}): run breakglass logout, then breakglass login`);
  }
  const parsed = StoredSignInSchema.safeParse(json);
  if (!parsed.success) throw new AppError('invalid_input', `the saved sign-in in ${where} is not in the expected shape: run breakglass logout, then breakglass login`);
  return parsed.data;
}

class KeychainVault implements SessionVault {
  readonly kind = 'keychain' as const;
  readonly where = 'the OS keychain';

  constructor(
    private readonly backend: KeychainBackend,
    private readonly timeoutMs: number,
  ) {}

  private account(storeUrl: string): string {
    return `session|${storeKey(storeUrl)}`;
  }

  async load(storeUrl: string): Promise<StoredSignIn | undefined> {
    const text = await withKeychainDeadline('read the session', this.timeoutMs, () => this.backend.getPassword(KEYCHAIN_SERVICE, this.account(storeUrl)));
    return text === null ? undefined : parseStored(text, this.where);
  }

  async save(signIn: StoredSignIn): Promise<void> {
    await withKeychainDeadline('store the session', this.timeoutMs, () => this.backend.setPassword(KEYCHAIN_SERVICE, this.account(signIn.storeUrl), JSON.stringify(signIn)));
  }

  remove(storeUrl: string): Promise<boolean> {
    return withKeychainDeadline('delete the session', this.timeoutMs, () => this.backend.deletePassword(KEYCHAIN_SERVICE, this.account(storeUrl)));
  }
}

class FileVault implements SessionVault {
  readonly kind = 'file' as const;
  readonly where: string;

  constructor(
    private readonly dir: string,
    readonly keychainProblem: string,
  ) {
    this.where = `${dir} (files of mode 0600)`;
  }

  private path(storeUrl: string): string {
    return join(this.dir, `${createHash('sha256').update(storeKey(storeUrl)).digest('hex').slice(0, 32)}.json`);
  }

  async load(storeUrl: string): Promise<StoredSignIn | undefined> {
    const path = this.path(storeUrl);
    let mode: number;
    try {
      const stat = await lstat(path);
      if (!stat.isFile()) throw new AppError('invalid_input', `${path} is not a regular file: remove it and run breakglass login`);
      mode = stat.mode & 0o777;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    // Like ssh with a private key: a session file others can read is not used.
    if ((mode & 0o077) !== 0) throw new AppError('forbidden', `${path} is readable by others (mode ${mode.toString(8).padStart(4, '0')}): run chmod 600 ${path}, or breakglass logout and login again`);
    return parseStored(await readFile(path, 'utf8'), path);
  }

  async save(signIn: StoredSignIn): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.path(signIn.storeUrl);
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(signIn), { mode: 0o600 });
    await chmod(temp, 0o600);
    await rename(temp, path);
  }

  async remove(storeUrl: string): Promise<boolean> {
    const path = this.path(storeUrl);
    try {
      await lstat(path);
    } catch (error) {
      // No saved sign-in there: nothing to remove. Anything else (permissions) is said, naming the file.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new AppError('unavailable', `cannot read the saved sign-in ${path}: ${(error as Error).message}`);
    }
    await rm(path, { force: true });
    return true;
  }
}
