import { AppError } from '../errors';
import { concatBytes, toBase64, utf8 } from '../bytes';
import { parseCheckpoint, type Checkpoint } from './checkpoint';
import { parseSignedNote, verifyNote, type NoteSignature, type NoteVerifier } from './signed-note';
import { checkKeyName, type VerifierKey } from './verifier-key';

/**
 * C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), Ed25519 "cosignature/v1": a
 * witness's note signature on a checkpoint, stating that as of its timestamp this is the
 * largest consistent tree it has seen for that origin. The signature bytes are
 * u64 big-endian POSIX seconds ‖ Ed25519 signature over
 *
 *   cosignature/v1\n
 *   time <seconds>\n
 *   <the whole checkpoint body, extension lines included>
 *
 * and the key id uses signature type 0x04, so a verifier that does not know the witness (or
 * does not know cosignatures at all) ignores the line, as the signed-note rules require.
 */
export const COSIGNATURE_V1_HEADER = 'cosignature/v1';
const TIMESTAMP_SIZE = 8;
const ED25519_SIGNATURE_SIZE = 64;
const EM_DASH = '\u2014';

/** Verifies a raw Ed25519 signature; must return false (never throw) when it does not verify. */
export type Ed25519Verify = (rawPublicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/** A witness key that can cosign: its vkey (type cosignature/v1) and a raw Ed25519 signer. */
export interface Cosigner {
  key: VerifierKey;
  sign(message: Uint8Array): Uint8Array;
}

export function cosignatureMessage(checkpointText: string, timestamp: number): Uint8Array {
  checkTimestamp(timestamp);
  return utf8(`${COSIGNATURE_V1_HEADER}\ntime ${timestamp}\n${checkpointText}`);
}

function checkTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new AppError('invalid_input', `a cosignature timestamp is a non-negative integer number of seconds, got ${timestamp}`);
}

function u64be(value: number): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_SIZE);
  let v = BigInt(value);
  for (let i = TIMESTAMP_SIZE - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The POSIX seconds at the start of a cosignature's signature bytes. */
export function cosignatureTimestamp(signature: Uint8Array): number {
  if (signature.length !== TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE) {
    throw new AppError('verification_failed', `a cosignature/v1 signature is ${TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE} bytes, got ${signature.length}`);
  }
  let v = 0n;
  for (let i = 0; i < TIMESTAMP_SIZE; i++) v = (v << 8n) | BigInt(signature[i]!);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new AppError('verification_failed', 'a cosignature timestamp is out of range');
  return Number(v);
}

/** The signature line ("— name base64", with newline) cosigning `checkpointText` at `timestamp` (seconds). */
export function cosignatureLine(checkpointText: string, cosigner: Cosigner, timestamp: number): string {
  if (cosigner.key.type !== 'cosignature/v1') throw new AppError('invalid_input', `key ${cosigner.key.name} is a ${cosigner.key.type} key, not a cosignature/v1 witness key`);
  checkKeyName(cosigner.key.name);
  const signature = cosigner.sign(cosignatureMessage(checkpointText, timestamp));
  if (signature.length !== ED25519_SIGNATURE_SIZE) throw new AppError('internal', 'an Ed25519 signature is 64 bytes');
  return `${EM_DASH} ${cosigner.key.name} ${toBase64(concatBytes(cosigner.key.keyHint, u64be(timestamp), signature))}\n`;
}

/** A note verifier for one witness key: checks the timestamped cosignature/v1 message. */
export function cosignatureVerifier(key: VerifierKey, verify: Ed25519Verify): NoteVerifier {
  if (key.type !== 'cosignature/v1') throw new AppError('invalid_input', `key ${key.name} is a ${key.type} key, not a cosignature/v1 witness key`);
  return {
    name: key.name,
    keyHint: key.keyHint,
    verify(message, signature) {
      let timestamp: number;
      try {
        timestamp = cosignatureTimestamp(signature);
      } catch {
        return false;
      }
      const signed = concatBytes(utf8(`${COSIGNATURE_V1_HEADER}\ntime ${timestamp}\n`), message);
      return verify(key.publicKey, signed, signature.slice(TIMESTAMP_SIZE));
    },
  };
}

export interface Cosignature {
  /** The witness key name. */
  name: string;
  /** When the witness cosigned (POSIX seconds). */
  timestamp: number;
  /** The exact signature line (no newline). */
  line: string;
}

export interface CosignedCheckpoint {
  checkpoint: Checkpoint;
  /** The checkpoint body the signatures cover. */
  text: string;
  /** Cosignatures by the witnesses the caller named that verified, one per witness. */
  cosignatures: Cosignature[];
}

/**
 * Verify a checkpoint signed by the log and cosigned by (some of) `witnesses`: the log's
 * signature must verify; each cosignature by a known witness must verify too (a bad one
 * rejects the note, as for any known key); unknown lines are ignored. Returns the checkpoint
 * and which known witnesses cosigned it, with their timestamps.
 */
export function verifyCosignedCheckpoint(note: string, logKey: NoteVerifier, witnesses: readonly VerifierKey[], verify: Ed25519Verify): CosignedCheckpoint {
  const verifiers = [logKey, ...witnesses.map((w) => cosignatureVerifier(w, verify))];
  const result = verifyNote(note, verifiers);
  const isLog = (s: NoteSignature) => s.name === logKey.name && s.keyHint.every((b, i) => b === logKey.keyHint[i]);
  if (!result.verified.some(isLog)) throw new AppError('verification_failed', `signed note: no valid signature by the log key ${logKey.name}`);
  const checkpoint = parseCheckpoint(result.text);
  if (checkpoint.origin !== logKey.name) throw new AppError('verification_failed', `the checkpoint is for log "${checkpoint.origin}", not "${logKey.name}"`);
  const cosignatures = result.verified.filter((s) => !isLog(s)).map((s) => ({ name: s.name, timestamp: cosignatureTimestamp(s.signature), line: s.line }));
  return { checkpoint, text: result.text, cosignatures };
}

/**
 * Check one cosignature line (as a witness hands it back) against `checkpointText` and the
 * witness's key; returns the parsed cosignature or throws naming why it is refused.
 */
export function verifyCosignatureLine(checkpointText: string, line: string, witness: VerifierKey, verify: Ed25519Verify): Cosignature {
  const trimmed = line.endsWith('\n') ? line.slice(0, -1) : line;
  if (trimmed.includes('\n')) throw new AppError('invalid_input', 'a cosignature is one signature line');
  const { signatures } = parseSignedNote(`${checkpointText}\n${trimmed}\n`);
  const sig = signatures[0]!;
  if (sig.name !== witness.name) throw new AppError('verification_failed', `the cosignature is by "${sig.name}", not by witness "${witness.name}"`);
  if (!sig.keyHint.every((b, i) => b === witness.keyHint[i])) throw new AppError('verification_failed', `the cosignature's key id does not match witness ${witness.name}'s key`);
  if (!cosignatureVerifier(witness, verify).verify(utf8(checkpointText), sig.signature)) {
    throw new AppError('verification_failed', `the cosignature by ${witness.name} does not verify over this checkpoint`);
  }
  return { name: sig.name, timestamp: cosignatureTimestamp(sig.signature), line: sig.line };
}
