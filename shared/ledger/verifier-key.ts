import { AppError } from '../errors';
import { bytesEqual, concatBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from '../bytes';
import type { Sha256 } from './tree-hasher';

/**
 * C2SP signed-note verifier keys ("vkeys"): `<name>+<hex key id>+<base64(type ‖ public key)>`,
 * the one-line form in which the signed-note ecosystem (Go's sumdb/note, transparency-dev,
 * Sigsum, Sunlight) passes keys around. Two signature types matter here:
 * - 0x01: plain Ed25519 note signatures (the log's checkpoint key);
 * - 0x04: timestamped Ed25519 witness cosignatures (C2SP tlog-cosignature, cosignature/v1).
 * The key id is SHA-256(name ‖ 0x0A ‖ type ‖ 32-byte key)[:4]; it is recomputed and must match
 * the one written in the vkey, so a vkey cannot name one key and carry another.
 */
export const SIGNATURE_TYPE_ED25519 = 0x01;
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;
const ED25519_KEY_SIZE = 32;
const KEY_ID_SIZE = 4;

export type VerifierKeyType = 'ed25519' | 'cosignature/v1';

export interface VerifierKey {
  name: string;
  type: VerifierKeyType;
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  /** The 4-byte key id (the hint carried in every signature line of this key). */
  keyHint: Uint8Array;
}

const TYPE_BYTE: Record<VerifierKeyType, number> = { ed25519: SIGNATURE_TYPE_ED25519, 'cosignature/v1': SIGNATURE_TYPE_COSIGNATURE_V1 };

/** Whether `text` holds an ASCII control character (below U+0020), newlines allowed or not. */
export function hasControlCharacter(text: string, allowNewline: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && !(allowNewline && c === 0x0a)) return true;
  }
  return false;
}

/** Key names are non-empty, without Unicode spaces or "+" (signed-note). */
export function checkKeyName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || hasControlCharacter(name, false)) {
    throw new AppError('invalid_input', `"${name}" is not a valid note key name (non-empty, no spaces, no "+", no control characters)`);
  }
}

/** SHA-256(name ‖ 0x0A ‖ type ‖ key): its first 4 bytes are the key id. */
export function noteKeyHash(name: string, type: VerifierKeyType, rawPublicKey: Uint8Array, sha256: Sha256): Uint8Array {
  checkKeyName(name);
  if (rawPublicKey.length !== ED25519_KEY_SIZE) throw new AppError('invalid_input', `an Ed25519 public key is ${ED25519_KEY_SIZE} bytes, got ${rawPublicKey.length}`);
  return sha256(concatBytes(utf8(name), new Uint8Array([0x0a, TYPE_BYTE[type]]), rawPublicKey));
}

export function verifierKey(name: string, type: VerifierKeyType, rawPublicKey: Uint8Array, sha256: Sha256): VerifierKey {
  return { name, type, publicKey: rawPublicKey.slice(), keyHint: noteKeyHash(name, type, rawPublicKey, sha256).slice(0, KEY_ID_SIZE) };
}

export function formatVerifierKey(key: VerifierKey): string {
  return `${key.name}+${toHex(key.keyHint)}+${toBase64(concatBytes(new Uint8Array([TYPE_BYTE[key.type]]), key.publicKey))}`;
}

function bad(vkey: string, why: string): never {
  throw new AppError('invalid_input', `verifier key "${vkey.length > 120 ? `${vkey.slice(0, 117)}...` : vkey}" is invalid: ${why}`);
}

/** Parse and check a vkey; `expect` restricts the signature type. */
export function parseVerifierKey(vkey: string, sha256: Sha256, expect?: VerifierKeyType): VerifierKey {
  // Split at the first two "+" only (as Go's note.NewVerifier does): base64 may contain "+".
  const text = vkey.trim();
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) bad(vkey, 'expected <name>+<hex key id>+<base64 key>');
  const name = text.slice(0, first);
  const hintHex = text.slice(first + 1, second);
  const keyB64 = text.slice(second + 1);
  try {
    checkKeyName(name);
  } catch {
    bad(vkey, 'the name is empty or contains spaces');
  }
  if (!/^[0-9a-f]{8}$/.test(hintHex)) bad(vkey, 'the key id must be 8 lowercase hex digits');
  let material: Uint8Array;
  try {
    material = fromBase64(keyB64);
  } catch {
    bad(vkey, 'the key is not standard base64');
  }
  const typeByte = material[0];
  const type: VerifierKeyType | undefined = typeByte === SIGNATURE_TYPE_ED25519 ? 'ed25519' : typeByte === SIGNATURE_TYPE_COSIGNATURE_V1 ? 'cosignature/v1' : undefined;
  if (!type) bad(vkey, `unsupported signature type 0x${(typeByte ?? 0).toString(16).padStart(2, '0')} (supported: 0x01 Ed25519, 0x04 cosignature/v1)`);
  if (expect && type !== expect) bad(vkey, `a ${expect} key was expected, this is a ${type} key`);
  const publicKey = material.slice(1);
  if (publicKey.length !== ED25519_KEY_SIZE) bad(vkey, `an Ed25519 key is ${ED25519_KEY_SIZE} bytes, got ${publicKey.length}`);
  const key = verifierKey(name, type, publicKey, sha256);
  if (!bytesEqual(key.keyHint, fromHex(hintHex))) bad(vkey, `the key id ${hintHex} does not match the name and key (expected ${toHex(key.keyHint)})`);
  return key;
}
