import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import type * as Pkcs11Js from 'pkcs11js';
import { AppError } from '../../../shared/errors';
import { ecdsaRawToDer, P256_SCALAR_BYTES } from '../../../shared/signing/ecdsa-signature';
import { keyIdFromPublicKey } from '../../../shared/node/signing/key-id';
import type { DecisionSigner } from '../../../shared/node/signing/signer';
import { allowedPkcs11ModulePath } from './pkcs11-allow-list';
import { fallbackConsoleLogger } from '../logger';

export type Pkcs11Module = typeof Pkcs11Js;
type Handle = Buffer;

/** DER of the P-256 curve OID 1.2.840.10045.3.1.7 (CKA_EC_PARAMS of every key we accept). */
const P256_EC_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
/** DER SubjectPublicKeyInfo header for an uncompressed P-256 point (the 65-byte point follows). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const P256_UNCOMPRESSED_POINT_BYTES = 1 + 2 * P256_SCALAR_BYTES;
/** CKA_ID length for keys we generate: random, links the public and private objects. */
const KEY_ID_BYTES = 16;
/** Upper bound for any ECDSA signature we expect back (P-521 raw is 132 bytes). */
const SIGNATURE_BUFFER_BYTES = 132;
const MAX_LABEL_LENGTH = 64;

/** What the PIN prompt is told; the console shows it next to the PIN field. */
export interface PinRequest {
  tokenLabel: string;
  keyLabel: string;
  /** Why the token needs the PIN now. */
  purpose: 'sign' | 'generate-key';
  /** 1 on the first ask; 2, 3 after a wrong PIN (the prompt is asked again in place). */
  attempt: number;
  /** Why the last PIN was refused, with the tries left when the token tells; null on the first ask. */
  previousError: string | null;
}

/** A wrong PIN is asked again in place this many times in all before the operation gives up. */
export const MAX_PIN_ATTEMPTS = 3;

export interface Pkcs11SignerOptions {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so or libykcs11.so. */
  modulePath: string;
  /** Token label (as `pkcs11-tool -L` shows it). Takes precedence over `slot`. */
  tokenLabel?: string;
  /** Index in the list of slots that hold a token (pkcs11-tool's "Slot N"); used without a label. */
  slot?: number;
  /** CKA_LABEL of the key pair. */
  keyLabel: string;
  /**
   * Asked for the user PIN whenever the token needs it and no cached PIN is valid. The caller
   * must keep the PIN out of the renderer and reject to cancel.
   */
  getPin: (request: PinRequest) => Promise<string>;
  /** Keep the PIN in this process's memory (never on disk) for this long; 0 (default) = ask every time. */
  pinCacheMs?: number;
  /** Clock for the PIN cache (tests). */
  now?: () => number;
  /**
   * For openPkcs11Signer only: 'generate' creates the key on the token (as generatePkcs11Key),
   * 'select' and 'use' (default) open an existing one.
   */
  mode?: 'generate' | 'select' | 'use';
  /**
   * Module paths allowed besides the well-known system ones (see pkcs11-allow-list). Only from
   * main-process configuration, never from renderer input: a module is native code loaded here.
   */
  allowedModulePaths?: readonly string[];
}

export interface Pkcs11Signer extends DecisionSigner {
  hardwareBacked: true;
  tokenLabel: string;
  keyLabel: string;
  /** Forget a cached PIN now (e.g. "lock" in the console, or on quit). */
  clearPinCache(): void;
  /**
   * The same key, asking `getPin` (instead of the options' one) when a signature made through it
   * needs the PIN: each caller's prompt says what that caller is signing, even when two
   * signatures are under way at once.
   */
  withPinPrompt(getPin: (request: PinRequest) => Promise<string>): DecisionSigner;
}

/** Load pkcs11js (an optional native dependency) or explain why hardware keys are unavailable. */
export async function loadPkcs11js(): Promise<Pkcs11Module> {
  try {
    const mod = (await import('pkcs11js')) as Pkcs11Module & { default?: Pkcs11Module };
    return mod.default && typeof mod.default.PKCS11 === 'function' ? mod.default : mod;
  } catch (error) {
    throw new AppError(
      'unavailable',
      `hardware-key signing is not available: the optional pkcs11js module could not be loaded (${(error as Error).message.split('\n')[0]}); reinstall with optional dependencies or use a keychain key`,
    );
  }
}

/**
 * Serialize everything done with one PKCS#11 module in this process: the library is
 * initialized for the duration of one operation and finalized after it, so nothing stays open
 * between signatures and a token unplugged and re-inserted is found again.
 */
const moduleQueues = new Map<string, Promise<unknown>>();

async function withModule<T>(pk: Pkcs11Module, requestedPath: string, allowedModulePaths: readonly string[], fn: (lib: Pkcs11Js.PKCS11) => Promise<T>): Promise<T> {
  // Refused before anything is loaded: dlopen of an arbitrary path is code execution.
  const modulePath = allowedPkcs11ModulePath(requestedPath, allowedModulePaths);
  const previous = moduleQueues.get(modulePath) ?? Promise.resolve();
  // The previous operation's failure went to its own caller; this one only waits for its turn.
  const run = previous.catch((_reportedByItsCaller: unknown) => undefined).then(async () => {
    const lib = new pk.PKCS11();
    try {
      lib.load(modulePath);
    } catch (error) {
      throw new AppError('invalid_input', `cannot load the PKCS#11 module ${modulePath}: ${(error as Error).message}`, {
        fieldErrors: [{ path: 'modulePath', message: 'not a loadable PKCS#11 module' }],
      });
    }
    try {
      try {
        lib.C_Initialize();
      } catch (error) {
        if (pkcs11Code(error) !== pk.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw tokenError(pk, error, `initialize ${modulePath}`);
      }
      try {
        return await fn(lib);
      } finally {
        // Never let a failing finalize hide the operation's own error or result.
        try {
          lib.C_Finalize();
        } catch (error) {
          // The token may have gone away mid-operation; the operation's own outcome is what counts.
          fallbackConsoleLogger().debug({ err: error, modulePath }, 'PKCS#11 C_Finalize failed (ignored: the operation already ended)');
        }
      }
    } finally {
      try {
        lib.close();
      } catch (error) {
        // As above: unloading the module cannot change the operation's outcome.
        fallbackConsoleLogger().debug({ err: error, modulePath }, 'unloading the PKCS#11 module failed (ignored: the operation already ended)');
      }
    }
  });
  moduleQueues.set(modulePath, run);
  try {
    return await run;
  } finally {
    if (moduleQueues.get(modulePath) === run) moduleQueues.delete(modulePath);
  }
}

function pkcs11Code(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function tokenError(pk: Pkcs11Module, error: unknown, doing: string): AppError {
  if (error instanceof AppError) return error;
  const name = (error as Error).message ?? String(error);
  if (pkcs11Code(error) === pk.CKR_USER_NOT_LOGGED_IN) return new AppError('forbidden', `the token refused to ${doing}: not logged in`);
  return new AppError('internal', `PKCS#11 error while trying to ${doing}: ${name}`);
}

interface OpenSession {
  lib: Pkcs11Js.PKCS11;
  session: Handle;
  slot: Handle;
  tokenLabel: string;
}

function findSlot(pk: Pkcs11Module, lib: Pkcs11Js.PKCS11, opts: Pkcs11SignerOptions): { slot: Handle; tokenLabel: string } {
  const slots = lib.C_GetSlotList(true);
  const tokens = slots.map((slot) => ({ slot, tokenLabel: lib.C_GetTokenInfo(slot).label.trim(), flags: lib.C_GetTokenInfo(slot).flags }));
  const initialized = tokens.filter((t) => (t.flags & pk.CKF_TOKEN_INITIALIZED) !== 0);
  if (opts.tokenLabel !== undefined) {
    const match = initialized.find((t) => t.tokenLabel === opts.tokenLabel);
    if (!match) {
      throw new AppError('not_found', `no PKCS#11 token labelled "${opts.tokenLabel}" in ${opts.modulePath} (found: ${initialized.map((t) => `"${t.tokenLabel}"`).join(', ') || 'none'}); is it plugged in?`);
    }
    return match;
  }
  if (opts.slot !== undefined) {
    const match = tokens[opts.slot];
    if (!match) throw new AppError('not_found', `no token in slot ${opts.slot} of ${opts.modulePath} (${tokens.length} slot(s) hold a token)`);
    return match;
  }
  if (initialized.length === 1) return initialized[0]!;
  throw new AppError(
    'invalid_input',
    initialized.length === 0 ? `no initialized PKCS#11 token found in ${opts.modulePath}; is it plugged in?` : `several tokens in ${opts.modulePath}: choose one by label (${initialized.map((t) => `"${t.tokenLabel}"`).join(', ')})`,
    { fieldErrors: [{ path: 'tokenLabel', message: 'required when the module has several tokens' }] },
  );
}

export async function withSession<T>(pk: Pkcs11Module, opts: Pkcs11SignerOptions, rw: boolean, fn: (s: OpenSession) => Promise<T>): Promise<T> {
  return withModule(pk, opts.modulePath, opts.allowedModulePaths ?? [], async (lib) => {
    const { slot, tokenLabel } = findSlot(pk, lib, opts);
    const session = lib.C_OpenSession(slot, pk.CKF_SERIAL_SESSION | (rw ? pk.CKF_RW_SESSION : 0));
    try {
      return await fn({ lib, session, slot, tokenLabel });
    } finally {
      lib.C_CloseSession(session);
    }
  });
}

export function findObjects(lib: Pkcs11Js.PKCS11, session: Handle, template: Pkcs11Js.Template): Handle[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, 16);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

/** CKA_EC_POINT is a DER OCTET STRING around the point; a few tokens return the bare point. */
function ecPointToSpkiPem(ecPoint: Buffer): string {
  let point = ecPoint;
  if (point.length === P256_UNCOMPRESSED_POINT_BYTES + 2 && point[0] === 0x04 && point[1] === P256_UNCOMPRESSED_POINT_BYTES) point = point.subarray(2);
  if (point.length !== P256_UNCOMPRESSED_POINT_BYTES || point[0] !== 0x04) {
    throw new AppError('invalid_input', 'the token key is not an uncompressed P-256 point');
  }
  const der = Buffer.concat([P256_SPKI_PREFIX, point]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString();
}

interface TokenPublicKey {
  publicKeyPem: string;
  ckaId: Buffer;
}

export function readPublicKey(pk: Pkcs11Module, lib: Pkcs11Js.PKCS11, session: Handle, keyLabel: string, tokenLabel: string): TokenPublicKey | undefined {
  const found = findObjects(lib, session, [
    { type: pk.CKA_CLASS, value: pk.CKO_PUBLIC_KEY },
    { type: pk.CKA_LABEL, value: keyLabel },
  ]);
  if (found.length === 0) return undefined;
  if (found.length > 1) throw new AppError('conflict', `several public keys labelled "${keyLabel}" on token "${tokenLabel}": relabel or remove the extra ones`);
  const [keyType, params, point, id] = lib.C_GetAttributeValue(session, found[0]!, [
    { type: pk.CKA_KEY_TYPE },
    { type: pk.CKA_EC_PARAMS },
    { type: pk.CKA_EC_POINT },
    { type: pk.CKA_ID },
  ]);
  if (readUlong(keyType!.value) !== pk.CKK_EC || !params!.value.equals(P256_EC_PARAMS)) {
    throw new AppError('invalid_input', `key "${keyLabel}" on token "${tokenLabel}" is not an ECDSA P-256 key`);
  }
  return { publicKeyPem: ecPointToSpkiPem(point!.value), ckaId: id!.value };
}

function findPrivateKey(pk: Pkcs11Module, lib: Pkcs11Js.PKCS11, session: Handle, keyLabel: string, ckaId: Buffer, tokenLabel: string): Handle {
  let found = findObjects(lib, session, [
    { type: pk.CKA_CLASS, value: pk.CKO_PRIVATE_KEY },
    { type: pk.CKA_LABEL, value: keyLabel },
    ...(ckaId.length > 0 ? [{ type: pk.CKA_ID, value: ckaId }] : []),
  ]);
  // A key pair is linked by CKA_ID; the two halves' labels may differ. Yubico's ykcs11 and
  // OpenSC's PIV driver label them "Public key for Digital Signature" / "Private key for Digital
  // Signature", so a key chosen by its public label is found by the ID the public key carries.
  if (found.length === 0 && ckaId.length > 0) {
    found = findObjects(lib, session, [
      { type: pk.CKA_CLASS, value: pk.CKO_PRIVATE_KEY },
      { type: pk.CKA_ID, value: ckaId },
    ]);
    if (found.length > 1) throw new AppError('conflict', `several private keys on token "${tokenLabel}" share the id of the public key labelled "${keyLabel}"`);
  }
  if (found.length === 0) throw new AppError('not_found', `no private key labelled "${keyLabel}" on token "${tokenLabel}" matching its public key`);
  if (found.length > 1) throw new AppError('conflict', `several private keys labelled "${keyLabel}" on token "${tokenLabel}"`);
  return found[0]!;
}

/**
 * Keeps the PIN for a short while in this process's memory (never on disk). JavaScript cannot
 * wipe a string, so "forget" means dropping the only reference and letting the GC have it.
 */
class PinCache {
  private pin: string | undefined;
  private expiresAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(): string | undefined {
    if (this.pin !== undefined && this.now() < this.expiresAt) return this.pin;
    this.clear();
    return undefined;
  }

  remember(pin: string): void {
    if (this.ttlMs <= 0) return;
    this.clear();
    this.pin = pin;
    this.expiresAt = this.now() + this.ttlMs;
    this.timer = setTimeout(() => this.clear(), this.ttlMs);
    // The wipe timer must not keep the process alive.
    this.timer.unref?.();
  }

  clear(): void {
    this.pin = undefined;
    this.expiresAt = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Log in as the user with a cached or freshly asked PIN. A wrong PIN drops the cache and asks
 * again in place (up to MAX_PIN_ATTEMPTS prompts), telling the prompt why and how many tries the
 * token says are left; a locked PIN, a cancelled prompt or the last wrong try throws
 * AppError('forbidden') and nothing is signed.
 */
async function login(pk: Pkcs11Module, s: OpenSession, opts: Pkcs11SignerOptions, getPin: Pkcs11SignerOptions['getPin'], cache: PinCache, purpose: PinRequest['purpose']): Promise<void> {
  let previousError: string | null = null;
  for (let attempt = 1; ; attempt++) {
    const cached = attempt === 1 ? cache.get() : undefined;
    const pin = cached ?? (await getPin({ tokenLabel: s.tokenLabel, keyLabel: opts.keyLabel, purpose, attempt, previousError }));
    if (typeof pin !== 'string' || pin.length === 0) throw new AppError('forbidden', `no PIN given for token "${s.tokenLabel}": nothing was signed`);
    try {
      s.lib.C_Login(s.session, pk.CKU_USER, pin);
    } catch (error) {
      const code = pkcs11Code(error);
      if (code === pk.CKR_USER_ALREADY_LOGGED_IN) {
        if (cached === undefined) cache.remember(pin);
        return;
      }
      cache.clear();
      if (code === pk.CKR_PIN_INCORRECT || code === pk.CKR_PIN_INVALID || code === pk.CKR_PIN_LEN_RANGE) {
        const flags = s.lib.C_GetTokenInfo(s.slot).flags;
        if ((flags & pk.CKF_USER_PIN_LOCKED) !== 0) throw new AppError('forbidden', `wrong PIN for token "${s.tokenLabel}": nothing was signed. The PIN is now locked: unblock it with the security officer PIN or PUK.`);
        const left = (flags & pk.CKF_USER_PIN_FINAL_TRY) !== 0 ? ' One try left before the PIN locks.' : (flags & pk.CKF_USER_PIN_COUNT_LOW) !== 0 ? ' Few tries left before the PIN locks.' : '';
        // A cached PIN that stopped working (changed on the token) is not the user's typo: ask afresh.
        previousError = cached !== undefined ? `The remembered PIN was refused: type the current one.${left}` : `Wrong PIN.${left}`;
        if (attempt >= MAX_PIN_ATTEMPTS && cached === undefined) throw new AppError('forbidden', `wrong PIN for token "${s.tokenLabel}" ${attempt} times: nothing was signed.${left}`);
        continue;
      }
      if (code === pk.CKR_PIN_LOCKED) throw new AppError('forbidden', `the PIN of token "${s.tokenLabel}" is locked: unblock it with the security officer PIN or PUK`);
      throw tokenError(pk, error, `log in to token "${s.tokenLabel}"`);
    }
    // The cache window runs from when the PIN was typed; using it does not extend it.
    if (cached === undefined) cache.remember(pin);
    return;
  }
}

/** A CK_ULONG attribute value (4 or 8 bytes, native little-endian on every platform we ship). */
function readUlong(value: Buffer): number {
  if (value.length === 8) return Number(value.readBigUInt64LE(0));
  if (value.length === 4) return value.readUInt32LE(0);
  throw new AppError('internal', `unexpected CK_ULONG size ${value.length}`);
}

/** A CK_BBOOL attribute, false when the token does not know it. */
function readBoolean(lib: Pkcs11Js.PKCS11, session: Handle, object: Handle, type: number): boolean {
  try {
    const [attr] = lib.C_GetAttributeValue(session, object, [{ type }]);
    return attr !== undefined && attr.value.length > 0 && attr.value[0] === 1;
  } catch (error) {
    // A token that does not know the attribute does not have the property: false is the answer.
    fallbackConsoleLogger().debug({ err: error, type }, 'PKCS#11 attribute not readable (taken as false)');
    return false;
  }
}

function logout(s: OpenSession): void {
  try {
    s.lib.C_Logout(s.session);
  } catch (error) {
    // Already logged out (or the token went away): the session is closed next anyway.
    fallbackConsoleLogger().debug({ err: error }, 'PKCS#11 C_Logout failed (ignored: the session is closed next)');
  }
}

function checkOptions(opts: Pkcs11SignerOptions): void {
  if (!opts.modulePath) throw new AppError('invalid_input', 'a PKCS#11 module path is required', { fieldErrors: [{ path: 'modulePath', message: 'required' }] });
  if (!opts.keyLabel || opts.keyLabel.length > MAX_LABEL_LENGTH) {
    throw new AppError('invalid_input', `a key label of 1-${MAX_LABEL_LENGTH} characters is required`, { fieldErrors: [{ path: 'keyLabel', message: 'required' }] });
  }
  if (typeof opts.getPin !== 'function') throw new AppError('invalid_input', 'a PIN callback is required');
}

function makeSigner(pk: Pkcs11Module, opts: Pkcs11SignerOptions, tokenLabel: string, key: TokenPublicKey, cache: PinCache): Pkcs11Signer {
  const keyId = keyIdFromPublicKey(createPublicKey(key.publicKeyPem));
  const signWith = (data: Uint8Array, getPin: Pkcs11SignerOptions['getPin']) =>
    withSession(pk, { ...opts, tokenLabel }, false, async (s) => {
      // The key must still be the one we reported: a swapped token would otherwise sign
      // with a key the store does not know.
      const current = readPublicKey(pk, s.lib, s.session, opts.keyLabel, s.tokenLabel);
      if (!current || current.publicKeyPem !== key.publicKeyPem) {
        throw new AppError('not_found', `key "${opts.keyLabel}" on token "${s.tokenLabel}" is no longer the enrolled key ${keyId}`);
      }
      await login(pk, s, opts, getPin, cache, 'sign');
      try {
        const privateKey = findPrivateKey(pk, s.lib, s.session, opts.keyLabel, current.ckaId, s.tokenLabel);
        const alwaysAuthenticate = readBoolean(s.lib, s.session, privateKey, pk.CKA_ALWAYS_AUTHENTICATE);
        // CKM_ECDSA signs a pre-computed hash: hash here, the token does the private-key part.
        const digest = createHash('sha256').update(data).digest();
        s.lib.C_SignInit(s.session, { mechanism: pk.CKM_ECDSA }, privateKey);
        if (alwaysAuthenticate) {
          // e.g. YubiKey PIV slot 9c: every signature needs a context-specific login.
          const pin = cache.get() ?? (await getPin({ tokenLabel: s.tokenLabel, keyLabel: opts.keyLabel, purpose: 'sign', attempt: 1, previousError: null }));
          s.lib.C_Login(s.session, pk.CKU_CONTEXT_SPECIFIC, pin);
        }
        const raw = await s.lib.C_SignAsync(s.session, digest, Buffer.alloc(SIGNATURE_BUFFER_BYTES));
        if (raw.length !== 2 * P256_SCALAR_BYTES) throw new AppError('internal', `the token returned a ${raw.length}-byte signature; expected raw P-256 r||s`);
        return ecdsaRawToDer(raw);
      } catch (error) {
        throw tokenError(pk, error, `sign with key "${opts.keyLabel}"`);
      } finally {
        logout(s);
      }
    });
  const publicPart = { keyId, publicKeyPem: key.publicKeyPem, hardwareBacked: true as const };
  return {
    ...publicPart,
    tokenLabel,
    keyLabel: opts.keyLabel,
    clearPinCache: () => cache.clear(),
    sign: (data) => signWith(data, opts.getPin),
    withPinPrompt: (getPin) => ({ ...publicPart, sign: (data) => signWith(data, getPin) }),
  };
}

/**
 * A signer over an existing key pair on the token, selected by label. Reading the public key
 * needs no PIN; each signature asks `getPin` (unless cached). Throws AppError('not_found') when
 * the token or the key is missing.
 */
export async function openPkcs11Signer(opts: Pkcs11SignerOptions): Promise<Pkcs11Signer> {
  if (opts.mode === 'generate') return generatePkcs11Key(opts);
  checkOptions(opts);
  const pk = await loadPkcs11js();
  const cache = new PinCache(opts.pinCacheMs ?? 0, opts.now ?? Date.now);
  const { tokenLabel, key } = await withSession(pk, opts, false, async (s) => {
    const found = readPublicKey(pk, s.lib, s.session, opts.keyLabel, s.tokenLabel);
    if (!found) throw new AppError('not_found', `no key labelled "${opts.keyLabel}" on token "${s.tokenLabel}": generate one or pick another label`);
    return { tokenLabel: s.tokenLabel, key: found };
  });
  return makeSigner(pk, opts, tokenLabel, key, cache);
}

/**
 * Generate an ECDSA P-256 key pair ON the token: the private key is a token object that is
 * private, sensitive and not extractable, so it can sign but never leave. Asks `getPin` to log
 * in. Throws AppError('conflict') when the label is already taken.
 */
export async function generatePkcs11Key(opts: Pkcs11SignerOptions): Promise<Pkcs11Signer> {
  checkOptions(opts);
  const pk = await loadPkcs11js();
  const cache = new PinCache(opts.pinCacheMs ?? 0, opts.now ?? Date.now);
  const { tokenLabel, key } = await withSession(pk, opts, true, async (s) => {
    await login(pk, s, opts, opts.getPin, cache, 'generate-key');
    try {
      const taken = findObjects(s.lib, s.session, [{ type: pk.CKA_LABEL, value: opts.keyLabel }]);
      if (taken.length > 0) throw new AppError('conflict', `token "${s.tokenLabel}" already holds a key labelled "${opts.keyLabel}": select it instead or choose another label`);
      const ckaId = randomBytes(KEY_ID_BYTES);
      const common = [
        { type: pk.CKA_TOKEN, value: true },
        { type: pk.CKA_KEY_TYPE, value: pk.CKK_EC },
        { type: pk.CKA_LABEL, value: opts.keyLabel },
        { type: pk.CKA_ID, value: ckaId },
      ];
      await s.lib.C_GenerateKeyPairAsync(
        s.session,
        { mechanism: pk.CKM_EC_KEY_PAIR_GEN },
        [...common, { type: pk.CKA_CLASS, value: pk.CKO_PUBLIC_KEY }, { type: pk.CKA_PRIVATE, value: false }, { type: pk.CKA_VERIFY, value: true }, { type: pk.CKA_EC_PARAMS, value: P256_EC_PARAMS }],
        [
          ...common,
          { type: pk.CKA_CLASS, value: pk.CKO_PRIVATE_KEY },
          { type: pk.CKA_PRIVATE, value: true },
          { type: pk.CKA_SENSITIVE, value: true },
          { type: pk.CKA_EXTRACTABLE, value: false },
          { type: pk.CKA_SIGN, value: true },
        ],
      );
      const found = readPublicKey(pk, s.lib, s.session, opts.keyLabel, s.tokenLabel);
      if (!found) throw new AppError('internal', `the token did not keep the generated key "${opts.keyLabel}"`);
      return { tokenLabel: s.tokenLabel, key: found };
    } catch (error) {
      throw tokenError(pk, error, `generate a key on token "${s.tokenLabel}"`);
    } finally {
      logout(s);
    }
  });
  return makeSigner(pk, opts, tokenLabel, key, cache);
}
