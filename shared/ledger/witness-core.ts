import { bytesEqual, fromBase64, toBase64 } from '../bytes';
import { parseCheckpoint, type Checkpoint } from './checkpoint';
import { cosignatureLine, type Cosigner } from './cosignature';
import { verifyConsistency } from './proofs';
import { parseSignedNote, verifyNote, type NoteVerifier } from './signed-note';
import type { TreeHasher } from './tree-hasher';
import type { AddCheckpointRequest } from './witness-protocol';

/**
 * A witness's decision on one add-checkpoint request (C2SP tlog-witness), as a pure function of
 * the request, the logs it follows and the last checkpoint it cosigned per origin. Shared by the
 * standalone witness (`breakglass witness serve`), the console and the CLI, which cosign only
 * what extends what they cosigned before: a witness that cosigned one branch of a fork answers
 * 409 (same size, other root) or 422 (no consistency proof) to the other branch, forever.
 *
 * The caller must apply the returned record before answering and must not run two requests
 * for one origin at once (the spec's atomic check-and-update).
 */
export interface WitnessRecord {
  origin: string;
  size: number;
  /** Base64 root hash. */
  rootHash: string;
  /** The checkpoint body that was cosigned. */
  checkpoint: string;
  /** POSIX seconds of the cosignature. */
  cosignedAt: number;
}

export interface WitnessContext {
  hasher: TreeHasher;
  /** The log keys this witness trusts for `origin`, or undefined when it does not follow that log. */
  logKeys(origin: string): NoteVerifier[] | undefined;
  /** The latest checkpoint this witness cosigned for `origin`. */
  latest(origin: string): WitnessRecord | undefined;
  cosigner: Cosigner;
  /** Now, in POSIX seconds. */
  nowSeconds(): number;
}

/**
 * `fork`: the checkpoint carries a valid log signature and contradicts what this witness
 * cosigned (same size with another root, or no valid consistency proof from it): evidence the
 * log forked. A 409 without it is the protocol's ordinary answer to a client that does not know
 * the witness's size yet.
 */
export type AddCheckpointOutcome =
  | { status: 200; lines: string[]; record: WitnessRecord; checkpoint: Checkpoint }
  | { status: 409; size: number; reason: string; fork?: true }
  | { status: 400 | 403 | 404 | 422; reason: string; fork?: true };

export function witnessAddCheckpoint(req: AddCheckpointRequest, ctx: WitnessContext): AddCheckpointOutcome {
  let text: string;
  try {
    text = parseSignedNote(req.note).text;
  } catch (error) {
    return { status: 400, reason: (error as Error).message };
  }
  const origin = text.slice(0, text.indexOf('\n'));
  const keys = ctx.logKeys(origin);
  if (!keys || keys.length === 0) return { status: 404, reason: `this witness does not follow log "${origin}"` };
  try {
    verifyNote(req.note, keys);
  } catch (error) {
    return { status: 403, reason: `no valid signature by a key of ${origin}: ${(error as Error).message}` };
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(text);
  } catch (error) {
    return { status: 400, reason: (error as Error).message };
  }
  if (req.oldSize > checkpoint.size) return { status: 400, reason: `old size ${req.oldSize} is larger than the checkpoint's size ${checkpoint.size}` };
  const latest = ctx.latest(origin);
  const latestSize = latest?.size ?? 0;
  if (req.oldSize !== latestSize) return { status: 409, size: latestSize, reason: `old size ${req.oldSize} is not the latest size this witness cosigned (${latestSize})` };
  if (latest && req.oldSize === checkpoint.size) {
    if (!bytesEqual(fromBase64(latest.rootHash), checkpoint.rootHash)) {
      return { status: 409, size: latestSize, fork: true, reason: `split view: this witness cosigned size ${latestSize} with root ${latest.rootHash}, this checkpoint has root ${toBase64(checkpoint.rootHash)}` };
    }
    if (req.proof.length !== 0) return { status: 422, reason: 'the consistency proof between equal sizes must be empty' };
  } else if (req.oldSize === 0) {
    if (req.proof.length !== 0) return { status: 422, reason: 'the consistency proof from size 0 must be empty' };
  } else {
    try {
      verifyConsistency(ctx.hasher, req.oldSize, checkpoint.size, req.proof, fromBase64(latest!.rootHash), checkpoint.rootHash);
    } catch (error) {
      return { status: 422, fork: true, reason: `the checkpoint does not extend the one this witness cosigned at size ${req.oldSize}: ${(error as Error).message}` };
    }
  }
  const cosignedAt = ctx.nowSeconds();
  const line = cosignatureLine(text, ctx.cosigner, cosignedAt);
  const record: WitnessRecord = { origin, size: checkpoint.size, rootHash: toBase64(checkpoint.rootHash), checkpoint: text, cosignedAt };
  return { status: 200, lines: [line], record, checkpoint };
}
