import { AppError } from '../errors';
import { bytesEqual, concatBytes, fromBase64, toBase64, toHex, utf8 } from '../bytes';
import type { Sha256 } from './tree-hasher';

/**
 * C2SP signed notes (https://c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank
 * line, then signature lines `— <key name> <base64(4-byte key id ‖ signature)>\n`.
 */

/** Signature algorithm identifier byte for Ed25519 in the key id (signed-note spec). */
export const ED25519_ALGORITHM_ID = 0x01;
const KEY_ID_SIZE = 4;
const EM_DASH = '\u2014';
const MAX_SIGNATURES = 100;

export interface NoteSignature {
  name: string;
  /** First 4 bytes of the key id. */
  keyHint: Uint8Array;
  signature: Uint8Array;
}

/** A key that signs notes; `sign` returns the raw signature (64 bytes for Ed25519). */
export interface NoteSigner {
  name: string;
  keyHint: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** A trusted key; `verify` must return false (never throw) for a bad signature. */
export interface NoteVerifier {
  name: string;
  keyHint: Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** The full SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key); its first 4 bytes are the note key hint. */
export function ed25519NoteKeyHash(name: string, rawPublicKey: Uint8Array, sha256: Sha256): Uint8Array {
  checkKeyName(name);
  if (rawPublicKey.length !== 32) throw new AppError('invalid_input', 'an Ed25519 public key is 32 bytes');
  return sha256(concatBytes(utf8(name), new Uint8Array([0x0a, ED25519_ALGORITHM_ID]), rawPublicKey));
}

export function ed25519NoteKeyHint(name: string, rawPublicKey: Uint8Array, sha256: Sha256): Uint8Array {
  return ed25519NoteKeyHash(name, rawPublicKey, sha256).slice(0, KEY_ID_SIZE);
}

/** The verifier key string of the signed-note ecosystem: `<name>+<hex key hint>+<base64(0x01 ‖ key)>`. */
export function ed25519VerifierKeyString(name: string, rawPublicKey: Uint8Array, sha256: Sha256): string {
  const hint = ed25519NoteKeyHint(name, rawPublicKey, sha256);
  return `${name}+${toHex(hint)}+${toBase64(concatBytes(new Uint8Array([ED25519_ALGORITHM_ID]), rawPublicKey))}`;
}

function checkKeyName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name)) throw new AppError('invalid_input', 'a note key name is non-empty, without spaces or "+"');
}

/** Sign `text` (must end in "\n") with each signer and return the signed note. */
export function signNote(text: string, signers: NoteSigner[]): string {
  if (!text.endsWith('\n')) throw new AppError('invalid_input', 'a note text ends with a newline');
  if (text.includes('\n\n')) throw new AppError('invalid_input', 'a note text has no blank lines');
  const message = utf8(text);
  const lines = signers.map((s) => {
    checkKeyName(s.name);
    const signature = s.sign(message);
    return `${EM_DASH} ${s.name} ${toBase64(concatBytes(s.keyHint, signature))}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

function bad(message: string): never {
  throw new AppError('verification_failed', `malformed signed note: ${message}`);
}

export function parseSignedNote(note: string): { text: string; signatures: NoteSignature[] } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) bad('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) bad('signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) bad('too many signatures');
  const signatures = lines.map((line, i) => {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!match) bad(`signature line ${i + 1} is not "— <name> <base64>"`);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(match[2]!);
    } catch {
      bad(`signature line ${i + 1} is not base64`);
    }
    if (bytes.length <= KEY_ID_SIZE) bad(`signature line ${i + 1} is too short`);
    return { name: match[1]!, keyHint: bytes.slice(0, KEY_ID_SIZE), signature: bytes.slice(KEY_ID_SIZE) };
  });
  if (signatures.length === 0) bad('no signatures');
  return { text, signatures };
}

/**
 * Verify a signed note against trusted keys: at least one signature must be by a known key
 * (same name and key hint) and verify. Unknown signatures are ignored, as the spec says.
 * Returns the note text and the names of the keys that verified.
 */
export function verifyNote(note: string, verifiers: NoteVerifier[]): { text: string; verifiedBy: string[] } {
  const { text, signatures } = parseSignedNote(note);
  const message = utf8(text);
  const verifiedBy: string[] = [];
  for (const sig of signatures) {
    const key = verifiers.find((v) => v.name === sig.name && bytesEqual(v.keyHint, sig.keyHint));
    if (!key) continue;
    if (!key.verify(message, sig.signature)) {
      throw new AppError('verification_failed', `signed note: the signature by ${sig.name} does not verify (forged or altered checkpoint)`);
    }
    if (!verifiedBy.includes(sig.name)) verifiedBy.push(sig.name);
  }
  if (verifiedBy.length === 0) throw new AppError('verification_failed', `signed note: no signature by a trusted key (${verifiers.map((v) => v.name).join(', ') || 'none given'})`);
  return { text, verifiedBy };
}
