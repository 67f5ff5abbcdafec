import { toBase64, utf8 } from '../bytes';
import { checkKeyName } from './verifier-key';

/**
 * The per-entry binding: when the store appends an entry it authenticates, with a key only the
 * log key's holder has, a short statement naming the log, the entry's seq and its leaf hash, and
 * keeps the tag with the row. Whoever can write the database but does not hold the log key
 * cannot produce it, so on start the store refuses any row past its last checkpoint whose
 * binding does not verify (a row inserted or edited behind its back) instead of signing it into
 * the next checkpoint. Rows under a checkpoint are bound by the checkpoint's signed root instead.
 *
 * Only a store that holds the log key ever checks a binding (it is never served), so it is a
 * MAC, not a signature (v2): HMAC-SHA256 under a key derived from the log key's private seed
 * (HKDF-SHA256, info ENTRY_BINDING_KEY_INFO), 32 bytes, over
 *
 *   breakglass-entry/v2\n
 *   <origin>\n
 *   <seq>\n
 *   <base64 leaf hash>\n
 *
 * An HMAC costs ~3 µs where an Ed25519 signature cost ~40-65 µs on the 2-core machine: the
 * largest single item of a warn (every evaluation under a bypass is an appended entry). Rows
 * bound before v2 carry a 64-byte Ed25519 signature by the log key over the same statement
 * headed `breakglass-entry/v1`; they are still accepted (checked with the public key).
 */
export const ENTRY_BINDING_HEADER = 'breakglass-entry/v2';
export const ENTRY_BINDING_SIZE = 32;
/** HKDF info of the binding key: a key for this purpose only, never the signing key itself. */
export const ENTRY_BINDING_KEY_INFO = 'breakglass entry binding key v2';

/**
 * Which bindings a store writes: v2 (the default), or v1 while instances of a release from before
 * v2 still share the database (a rolling upgrade: those refuse a v2 binding as tampering); every
 * release since reads both.
 */
export const ENTRY_BINDING_VERSIONS = ['v1', 'v2'] as const;
export type EntryBindingVersion = (typeof ENTRY_BINDING_VERSIONS)[number];

/** Bindings made before v2: an Ed25519 signature by the log key. */
export const LEGACY_ENTRY_BINDING_HEADER = 'breakglass-entry/v1';
export const LEGACY_ENTRY_BINDING_SIZE = 64;

function statement(header: string, origin: string, seq: number, leafHash: Uint8Array): string {
  checkKeyName(origin);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq must be a non-negative integer, got ${seq}`);
  return `${header}\n${origin}\n${seq}\n${toBase64(leafHash)}\n`;
}

/** What a v2 binding authenticates, as text (the MAC is over its UTF-8 bytes). */
export function entryBindingStatement(origin: string, seq: number, leafHash: Uint8Array): string {
  return statement(ENTRY_BINDING_HEADER, origin, seq, leafHash);
}

/** What a v1 (Ed25519) binding signed. */
export function legacyEntryBindingMessage(origin: string, seq: number, leafHash: Uint8Array): Uint8Array {
  return utf8(statement(LEGACY_ENTRY_BINDING_HEADER, origin, seq, leafHash));
}

/** Makes and checks bindings for one log (the store's log key). */
export interface EntryBinder {
  readonly origin: string;
  /** The binding of the entry at `seq` with this leaf hash. */
  bind(seq: number, leafHash: Uint8Array): Uint8Array;
  /** Whether `binding` is this log's binding of (seq, leafHash), v2 or v1; never throws. */
  verify(seq: number, leafHash: Uint8Array, binding: Uint8Array | null | undefined): boolean;
}
