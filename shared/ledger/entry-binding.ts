import { toBase64, utf8 } from '../bytes';
import { checkKeyName } from './verifier-key';

/**
 * The per-entry binding: when the store appends an entry it signs, with its log key, a short
 * statement naming the log, the entry's seq and its leaf hash, and keeps the 64-byte Ed25519
 * signature with the row, the way Rekor's signed entry timestamp binds an entry before any
 * checkpoint covers it. Whoever can write the database but does not hold the log key cannot
 * produce it, so on start the store refuses any row past its last checkpoint whose binding
 * does not verify (a row inserted or edited behind its back) instead of signing it into the
 * next checkpoint. Rows under a checkpoint are bound by the checkpoint's signed root instead.
 *
 *   breakglass-entry/v1\n
 *   <origin>\n
 *   <seq>\n
 *   <base64 leaf hash>\n
 */
export const ENTRY_BINDING_HEADER = 'breakglass-entry/v1';
export const ENTRY_BINDING_SIZE = 64;

export function entryBindingMessage(origin: string, seq: number, leafHash: Uint8Array): Uint8Array {
  checkKeyName(origin);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq must be a non-negative integer, got ${seq}`);
  return utf8(`${ENTRY_BINDING_HEADER}\n${origin}\n${seq}\n${toBase64(leafHash)}\n`);
}

/** Signs and checks bindings for one log (the store's log key). */
export interface EntryBinder {
  readonly origin: string;
  /** The binding of the entry at `seq` with this leaf hash. */
  bind(seq: number, leafHash: Uint8Array): Uint8Array;
  /** Whether `binding` is this log's binding of (seq, leafHash); never throws. */
  verify(seq: number, leafHash: Uint8Array, binding: Uint8Array | null | undefined): boolean;
}
