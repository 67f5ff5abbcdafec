import { AppError } from '../errors';
import { fromBase64, toBase64 } from '../bytes';
import { HASH_SIZE } from './tree-hasher';

/**
 * The C2SP tlog-witness wire format (https://c2sp.org/tlog-witness), `POST <prefix>/add-checkpoint`:
 *
 *   old <size>\n
 *   <base64 consistency proof hash>\n   (0..63 lines)
 *   \n
 *   <signed checkpoint note>
 *
 * Answered with 200 and cosignature lines, 409 + `text/x.tlog.size` body "<size>\n" when the
 * old size is not the witness's latest, 400/403/404/422 for the other refusals.
 */
export const ADD_CHECKPOINT_PATH = '/add-checkpoint';
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';
/** A consistency proof of a tree below 2^63 leaves has at most 63 hashes. */
export const MAX_CONSISTENCY_PROOF_LINES = 63;
/** Generous bound on a request body: 63 proof lines plus a note with 100 signatures. */
export const MAX_ADD_CHECKPOINT_BYTES = 64 * 1024;

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  /** The signed checkpoint note, signatures included. */
  note: string;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

export function formatAddCheckpointRequest(req: AddCheckpointRequest): string {
  if (!Number.isSafeInteger(req.oldSize) || req.oldSize < 0) throw new AppError('invalid_input', 'old size must be a non-negative integer');
  if (req.proof.length > MAX_CONSISTENCY_PROOF_LINES) throw new AppError('invalid_input', `a consistency proof has at most ${MAX_CONSISTENCY_PROOF_LINES} hashes`);
  return `old ${req.oldSize}\n${req.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${req.note}`;
}

function bad(message: string): never {
  throw new AppError('invalid_input', `add-checkpoint request: ${message}`);
}

/** Parse an add-checkpoint body; throws AppError('invalid_input') (→ 400) naming what is wrong. */
export function parseAddCheckpointRequest(body: string): AddCheckpointRequest {
  const firstBreak = body.indexOf('\n');
  if (firstBreak < 0) bad('the first line must be "old <size>"');
  const oldLine = body.slice(0, firstBreak);
  if (!oldLine.startsWith('old ') || !DECIMAL.test(oldLine.slice(4))) bad(`the first line must be "old <size>" in decimal without leading zeroes, got "${oldLine.slice(0, 40)}"`);
  const oldSize = Number(oldLine.slice(4));
  if (!Number.isSafeInteger(oldSize)) bad('old size is too large');
  const proof: Uint8Array[] = [];
  let at = firstBreak + 1;
  for (;;) {
    const end = body.indexOf('\n', at);
    if (end < 0) bad('missing the empty line between the proof and the checkpoint');
    const line = body.slice(at, end);
    at = end + 1;
    if (line === '') break;
    if (proof.length === MAX_CONSISTENCY_PROOF_LINES) bad(`more than ${MAX_CONSISTENCY_PROOF_LINES} consistency proof lines`);
    let hash: Uint8Array;
    try {
      hash = fromBase64(line);
    } catch {
      bad(`proof line ${proof.length + 1} is not base64`);
    }
    if (hash.length !== HASH_SIZE) bad(`proof line ${proof.length + 1} is ${hash.length} bytes, not a ${HASH_SIZE}-byte hash`);
    proof.push(hash);
  }
  const note = body.slice(at);
  if (note.length === 0) bad('no checkpoint after the empty line');
  return { oldSize, proof, note };
}

/** The body of a 409 answer: the witness's latest cosigned size. */
export function formatTlogSize(size: number): string {
  return `${size}\n`;
}

export function parseTlogSize(body: string): number {
  const text = body.endsWith('\n') ? body.slice(0, -1) : body;
  if (!DECIMAL.test(text) || !Number.isSafeInteger(Number(text))) throw new AppError('verification_failed', `the witness answered 409 with "${text.slice(0, 40)}", not a tree size`);
  return Number(text);
}
