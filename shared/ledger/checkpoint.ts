import { AppError } from '../errors';
import { fromBase64, toBase64 } from '../bytes';
import { HASH_SIZE } from './tree-hasher';

/**
 * A C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the body of a signed note.
 *
 *   <origin>\n<tree size, decimal>\n<base64 root hash>\n[<extension line>\n]*
 */
export interface Checkpoint {
  /** Unique name of the log, e.g. `breakglass.local/st_1a2b`; also the note key name. */
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** Optional extension lines (opaque, non-empty); we put the signing time here. */
  extensions: string[];
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

function bad(message: string): never {
  throw new AppError('verification_failed', `malformed checkpoint: ${message}`);
}

function checkLine(what: string, line: string): void {
  if (line.length === 0) bad(`${what} is empty`);
  if (/[\n\r]/.test(line)) bad(`${what} contains a line break`);
}

export function formatCheckpoint(cp: Checkpoint): string {
  checkLine('origin', cp.origin);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) bad('size must be a non-negative integer');
  if (cp.rootHash.length !== HASH_SIZE) bad(`root hash must be ${HASH_SIZE} bytes`);
  cp.extensions.forEach((line, i) => checkLine(`extension line ${i + 1}`, line));
  return [cp.origin, String(cp.size), toBase64(cp.rootHash), ...cp.extensions].map((line) => `${line}\n`).join('');
}

/** Parse a checkpoint body (the note text, ending in a newline); strict: one text per value. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) bad('must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('needs an origin, a size and a root hash line');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  checkLine('origin', origin);
  if (!DECIMAL.test(sizeLine)) bad(`size "${sizeLine}" is not a decimal integer`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) bad('size is too large');
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootLine);
  } catch {
    bad('root hash is not base64');
  }
  if (rootHash.length !== HASH_SIZE) bad(`root hash is ${rootHash.length} bytes, expected ${HASH_SIZE}`);
  extensions.forEach((line, i) => checkLine(`extension line ${i + 1}`, line));
  return { origin, size, rootHash, extensions };
}

/**
 * The checkpoint's signing time, as an extension line in the form Rekor's checkpoints use
 * (`Timestamp: <POSIX nanoseconds>`), so a stale or halted log's last checkpoint shows its age.
 * Extension lines are covered by the log's signature and by witness cosignatures.
 */
export const CHECKPOINT_TIME_PREFIX = 'Timestamp: ';
const NANOS_PER_MS = 1_000_000n;

export function checkpointTimeLine(at: Date): string {
  const ms = at.getTime();
  if (!Number.isSafeInteger(ms) || ms < 0) bad('the signing time must be a valid date after 1970');
  return `${CHECKPOINT_TIME_PREFIX}${BigInt(ms) * NANOS_PER_MS}`;
}

/** The signing time in the checkpoint's Timestamp extension line, or null when it has none. */
export function checkpointTime(cp: Checkpoint): Date | null {
  const line = cp.extensions.find((l) => l.startsWith(CHECKPOINT_TIME_PREFIX));
  if (!line) return null;
  const digits = line.slice(CHECKPOINT_TIME_PREFIX.length);
  if (!DECIMAL.test(digits)) bad(`"${line}" is not a timestamp in nanoseconds`);
  const ms = BigInt(digits) / NANOS_PER_MS;
  if (ms > BigInt(Number.MAX_SAFE_INTEGER)) bad(`"${line}" is out of range`);
  return new Date(Number(ms));
}
