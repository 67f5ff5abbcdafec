import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { ed25519NoteSigner, logKeyEntryBinder, nodeSha256, rawEd25519PublicKey } from '../../shared/node/ledger/node-crypto';
import type { EntryBinder, EntryBindingVersion } from '../../shared/ledger/entry-binding';
import { ed25519NoteKeyHash } from '../../shared/ledger/signed-note';
import type { NoteSigner } from '../../shared/ledger/signed-note';
import { AppError } from '../../shared/errors';

const PRIVATE_FILE_MODE = 0o600;
/** Host part of the origin of logs from before origins were named (and of machines without a host name); the store id follows it. */
export const ORIGIN_HOST = 'breakglass.local';
/** Hex characters of the key fingerprint used as the store id in the origin. */
const STORE_ID_HEX_CHARS = 16;

export interface LogKey {
  /** The log's origin (<dataDir>/log-origin, or `breakglass.local/<store id>` for a data dir from before): the checkpoint origin and the note key name. */
  origin: string;
  signer: NoteSigner;
  publicKeyPem: string;
  rawPublicKey: Uint8Array;
  /** SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ key): the Sigstore log id / checkpoint key id. */
  logId: Uint8Array;
  /** Binds each entry as it is appended (shared/ledger/entry-binding.ts); the store is opened with it. */
  binder: EntryBinder;
}

/** The store id: derived from the log key, so the same key always names the same log. */
export function storeIdFor(rawPublicKey: Uint8Array): string {
  return createHash('sha256').update(rawPublicKey).digest('hex').slice(0, STORE_ID_HEX_CHARS);
}

/**
 * Refuse a log key others can read: whoever reads it can sign checkpoints and entry bindings as
 * this store. The operator fixes it (the message says how); the store never loosens or guesses.
 */
async function assertPrivateMode(path: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    throw new AppError('invalid_input', `the log key ${path} is readable by ${mode & 0o007 ? 'anyone on this machine' : 'its group'} (mode 0${mode.toString(8)}): whoever reads it can sign this store's checkpoints. Run \`chmod 600 ${path}\` and start again.`);
  }
}

/**
 * A log origin (C2SP tlog-checkpoint: a schema-less URL naming the log, e.g.
 * `breakglass.example.com/prod`): printable ASCII, no spaces, no "+".
 */
export function checkOrigin(origin: string): string {
  if (!/^[\x21-\x7e]{1,200}$/.test(origin) || origin.includes('+') || /^[a-z][a-z0-9+.-]*:\/\//i.test(origin)) {
    throw new AppError('invalid_input', `"${origin}" is not a log origin: a schema-less URL naming the log (e.g. breakglass.example.com/prod), printable ASCII without spaces or "+", at most 200 characters`, {
      fieldErrors: [{ path: '--origin', message: 'a schema-less URL such as breakglass.example.com/prod' }],
    });
  }
  return origin;
}

/** A DNS host name (letters, digits, hyphens, dots), as `os.hostname()` gives one on a named machine. */
const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * The origin a store's public URL names: its host (lower case), its port when it is not the
 * scheme's default, and its path without the trailing slash (`https://Breakglass.Example.com/prod/`
 * → `breakglass.example.com/prod`). Throws 400 naming `field` for anything that is not an
 * http(s) URL with a host name.
 */
export function originFromPublicUrl(url: string, field = '--public-url'): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError('invalid_input', `"${url}" is not a URL: give the store's public address, e.g. https://breakglass.example.com`, { fieldErrors: [{ path: field, message: 'an http(s) URL such as https://breakglass.example.com' }] });
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || !parsed.hostname || parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw new AppError('invalid_input', `"${url}" is not a store address: an http(s) URL with a host and optionally a path, no query, fragment or credentials`, { fieldErrors: [{ path: field, message: 'an http(s) URL such as https://breakglass.example.com' }] });
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  const origin = `${parsed.host.toLowerCase()}${path}`;
  try {
    return checkOrigin(origin);
  } catch (error) {
    throw new AppError('invalid_input', `${url} does not make a log origin: ${(error as Error).message}`, { fieldErrors: [{ path: field, message: 'its host and path must make a log origin' }] });
  }
}

/**
 * The origin `admin init` gives a new log when neither an origin nor a public URL names it: this
 * machine's host name and the store id (so two stores on one machine stay two logs);
 * `breakglass.local/<store id>` only when the machine has no usable host name. Written to the
 * data dir once, so it never changes with the machine's configuration.
 */
export function machineLogOrigin(hostname: string, rawPublicKey: Uint8Array): string {
  const host = hostname.trim().toLowerCase().replace(/\.$/, '');
  return `${HOST_NAME.test(host) && host !== 'localhost' ? host : ORIGIN_HOST}/${storeIdFor(rawPublicKey)}`;
}

/** The origin kept in the data dir (`admin init --origin`), or undefined for a data dir from before. */
export async function readLogOrigin(originPath: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(originPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return checkOrigin(text.trim());
  } catch (error) {
    throw new AppError('invalid_input', `${originPath}: ${(error as Error).message}`);
  }
}

/**
 * Load the Ed25519 log key from <dataDir>/log-key.pem (`breakglass admin init` writes it);
 * create it (mode 0600) when missing so a bare data dir still gets a signed log. The origin is
 * the one in `originPath` (<dataDir>/log-origin, written by `admin init`) when there is one, else
 * `breakglass.local/<id>` (data dirs initialized before origins were configurable keep the name
 * their history carries). `entryBindings`: which bindings the store writes (default v2; v1 during a
 * rolling upgrade from a release before v2, BREAKGLASS_ENTRY_BINDINGS).
 */
export async function loadLogKey(path: string, options: { originPath?: string; entryBindings?: EntryBindingVersion } = {}): Promise<LogKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
    await assertPrivateMode(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      await writeFile(path, pem, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    } catch (writeError) {
      // Another process created it first: use theirs.
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      pem = await readFile(path, 'utf8');
    }
  }
  const probe = ed25519NoteSigner('probe', pem);
  const configured = options.originPath ? await readLogOrigin(options.originPath) : undefined;
  const origin = configured ?? `${ORIGIN_HOST}/${storeIdFor(probe.rawPublicKey)}`;
  const signer = ed25519NoteSigner(origin, pem);
  return {
    origin,
    signer,
    publicKeyPem: signer.publicKeyPem,
    rawPublicKey: rawEd25519PublicKey(signer.publicKeyPem),
    logId: ed25519NoteKeyHash(origin, signer.rawPublicKey, nodeSha256),
    binder: logKeyEntryBinder(origin, pem, options.entryBindings),
  };
}
