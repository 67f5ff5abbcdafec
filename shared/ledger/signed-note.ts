import { AppError } from '../errors';
import { bytesEqual, concatBytes, fromBase64, fromBase64Lenient, toBase64, utf8 } from '../bytes';
import type { Sha256 } from './tree-hasher';
import { checkKeyName, formatVerifierKey, hasControlCharacter, noteKeyHash, verifierKey } from './verifier-key';

/**
 * C2SP signed notes (https://c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank
 * line, then signature lines `— <key name> <base64(4-byte key id ‖ signature)>\n`.
 *
 * Parsing follows Go's golang.org/x/mod/sumdb/note.Open, the reference the ecosystem's
 * verifiers share: no control characters but newline, the text ends at the last blank line,
 * at most 100 signature lines, signatures by unknown keys are ignored (so a checkpoint can
 * carry witness cosignatures that an old verifier does not know), repeated signatures by one
 * key count once, a known key whose signature fails rejects the whole note, and a note with no
 * verified signature by a known key is rejected.
 */

/** Signature algorithm identifier byte for Ed25519 in the key id (signed-note spec). */
export const ED25519_ALGORITHM_ID = 0x01;
const KEY_ID_SIZE = 4;
const EM_DASH = '\u2014';
/** Go's note.Open refuses more; the spec asks verifiers to accept at least 16. */
export const MAX_NOTE_SIGNATURES = 100;

export interface NoteSignature {
  name: string;
  /** First 4 bytes of the key id. */
  keyHint: Uint8Array;
  signature: Uint8Array;
  /** The exact signature line, without the newline (kept so a note can be re-emitted byte for byte). */
  line: string;
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
  return noteKeyHash(name, 'ed25519', rawPublicKey, sha256);
}

export function ed25519NoteKeyHint(name: string, rawPublicKey: Uint8Array, sha256: Sha256): Uint8Array {
  return ed25519NoteKeyHash(name, rawPublicKey, sha256).slice(0, KEY_ID_SIZE);
}

/** The verifier key string of the signed-note ecosystem: `<name>+<hex key hint>+<base64(0x01 ‖ key)>`. */
export function ed25519VerifierKeyString(name: string, rawPublicKey: Uint8Array, sha256: Sha256): string {
  return formatVerifierKey(verifierKey(name, 'ed25519', rawPublicKey, sha256));
}

/** One signature line for `text`, signed by `signer` (ends in "\n"). */
export function signatureLine(text: string, signer: NoteSigner): string {
  checkKeyName(signer.name);
  return `${EM_DASH} ${signer.name} ${toBase64(concatBytes(signer.keyHint, signer.sign(utf8(text))))}\n`;
}

function checkText(text: string): void {
  if (!text.endsWith('\n')) throw new AppError('invalid_input', 'a note text ends with a newline');
  if (text.includes('\n\n')) throw new AppError('invalid_input', 'a note text has no blank lines');
  if (hasControlCharacter(text, true)) throw new AppError('invalid_input', 'a note text has no control characters but newlines');
}

/** Sign `text` (must end in "\n") with each signer and return the signed note. */
export function signNote(text: string, signers: NoteSigner[]): string {
  checkText(text);
  return `${text}\n${signers.map((s) => signatureLine(text, s)).join('')}`;
}

function bad(message: string): never {
  throw new AppError('verification_failed', `malformed signed note: ${message}`);
}

/** Standard base64 as Go's base64.StdEncoding reads it (padding required, stray low bits tolerated). */
function decodeSignature(text: string): Uint8Array {
  try {
    return fromBase64(text);
  } catch {
    if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new TypeError('not base64');
    return fromBase64Lenient(text);
  }
}

export function parseSignedNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (hasControlCharacter(note, true)) bad('control characters other than newline');
  // With the u flag a well-formed surrogate pair is one code point: only a lone half matches.
  if (/[\ud800-\udfff]/u.test(note)) bad('not valid UTF-8 (lone surrogate)');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) bad('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) bad('signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) bad(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, i) => {
    if (!line.startsWith(`${EM_DASH} `)) bad(`signature line ${i + 1} does not start with "— "`);
    const rest = line.slice(2);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const b64 = space < 0 ? '' : rest.slice(space + 1);
    try {
      checkKeyName(name);
    } catch {
      bad(`signature line ${i + 1} has an invalid key name`);
    }
    let bytes: Uint8Array;
    try {
      bytes = decodeSignature(b64);
    } catch {
      bad(`signature line ${i + 1} is not base64`);
    }
    if (bytes.length <= KEY_ID_SIZE) bad(`signature line ${i + 1} is too short`);
    return { name, keyHint: bytes.slice(0, KEY_ID_SIZE), signature: bytes.slice(KEY_ID_SIZE), line };
  });
  return { text, signatures };
}

export interface VerifiedNote {
  text: string;
  /** Names of the trusted keys whose signature verified, in note order, each once. */
  verifiedBy: string[];
  /** The verified signatures themselves, in note order (one per key). */
  verified: NoteSignature[];
  /** Signature lines by keys the caller does not know (ignored, kept for re-emitting). */
  unknown: NoteSignature[];
}

/**
 * Verify a signed note against trusted keys: at least one signature must be by a known key
 * (same name and key hint) and verify. Unknown signatures are ignored, as the spec says.
 */
export function verifyNote(note: string, verifiers: NoteVerifier[]): VerifiedNote {
  const { text, signatures } = parseSignedNote(note);
  const message = utf8(text);
  const verified: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  for (const sig of signatures) {
    const key = verifiers.find((v) => v.name === sig.name && bytesEqual(v.keyHint, sig.keyHint));
    if (!key) {
      if (!unknown.some((u) => u.line === sig.line)) unknown.push(sig);
      continue;
    }
    if (verified.some((v) => v.name === sig.name && bytesEqual(v.keyHint, sig.keyHint))) continue;
    if (!key.verify(message, sig.signature)) {
      throw new AppError('verification_failed', `signed note: the signature by ${sig.name} does not verify (forged or altered checkpoint)`);
    }
    verified.push(sig);
  }
  if (verified.length === 0) throw new AppError('verification_failed', `signed note: no signature by a trusted key (${verifiers.map((v) => v.name).join(', ') || 'none given'})`);
  return { text, verifiedBy: [...new Set(verified.map((v) => v.name))], verified, unknown };
}

/**
 * `note` with the signature lines in `lines` (each "— name base64", with or without its
 * newline) added after its own, skipping exact duplicates. The caller must have verified the
 * new lines if it vouches for them; a note's readers verify what they know and ignore the rest.
 */
export function addNoteSignatures(note: string, lines: readonly string[]): string {
  const { text, signatures } = parseSignedNote(note);
  const have = new Set(signatures.map((s) => s.line));
  const added: string[] = [];
  for (const raw of lines) {
    const line = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    if (have.has(line)) continue;
    have.add(line);
    added.push(line);
  }
  const all = [...signatures.map((s) => s.line), ...added];
  const merged = `${text}\n${all.map((l) => `${l}\n`).join('')}`;
  // Re-parse: each new line must be a well-formed signature line, and the total within limits.
  parseSignedNote(merged);
  return merged;
}
