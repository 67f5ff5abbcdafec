import { AppError } from '../errors';
import type { NoteVerifier } from './signed-note';
import { verifyCosignedCheckpoint, type Cosignature, type Ed25519Verify } from './cosignature';
import type { VerifierKey } from './verifier-key';

/**
 * Whether enough of the witnesses a client trusts cosigned one checkpoint (`ledger verify
 * --witnesses N`): the log's signature must verify, every line by a trusted witness must verify
 * (a bad one is a forged cosignature: refused, not skipped), and at least `required` distinct
 * trusted witnesses must have cosigned. Lines by witnesses the client does not trust are ignored.
 */
export interface WitnessQuorum {
  ok: boolean;
  required: number;
  treeSize: number;
  /** Trusted witnesses whose cosignature verified, by name. */
  cosigned: Cosignature[];
  /** Trusted witnesses with no cosignature on this checkpoint. */
  missing: string[];
  message: string;
}

export function witnessQuorum(note: string, logKey: NoteVerifier, trusted: readonly VerifierKey[], required: number, verify: Ed25519Verify): WitnessQuorum {
  if (!Number.isSafeInteger(required) || required < 1) throw new AppError('invalid_input', `the number of witnesses required must be at least 1, got ${required}`);
  if (trusted.length < required) {
    throw new AppError('invalid_input', `${required} witness cosignature(s) required, but only ${trusted.length} witness key(s) are trusted: give more with --witness-key (or a policy with more witnesses)`);
  }
  const { checkpoint, cosignatures } = verifyCosignedCheckpoint(note, logKey, [...trusted], verify);
  const names = new Set(cosignatures.map((c) => c.name));
  const cosigned = [...new Map(cosignatures.map((c) => [c.name, c])).values()];
  const missing = trusted.map((k) => k.name).filter((name) => !names.has(name));
  const ok = cosigned.length >= required;
  const message = ok
    ? `${cosigned.length} of ${trusted.length} trusted witnesses cosigned checkpoint ${checkpoint.size} (${required} required): ${cosigned.map((c) => c.name).join(', ')}`
    : `only ${cosigned.length} of the ${required} required witness cosignatures cover checkpoint ${checkpoint.size}: missing ${missing.join(', ')}${cosigned.length ? ` (cosigned by ${cosigned.map((c) => c.name).join(', ')})` : ''}`;
  return { ok, required, treeSize: checkpoint.size, cosigned, missing, message };
}
