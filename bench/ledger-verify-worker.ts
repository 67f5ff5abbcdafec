import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

/**
 * Worker of bench/ledger-verify.ts: verifies the entries whose lines start inside a byte range
 * of entries.jsonl (parse, seq contiguity, leaf hash over the exact line bytes, ECDSA P-256
 * signature of every decision under its enrolled key, the Rekor payloadHash/signature/verifier
 * fields) and returns the range's compact range: the aligned perfect subtrees covering it.
 */

export interface VerifyTask {
  file: string;
  start: number;
  end: number;
  /** Keys enrolled before this range (the ledger's own key_enrolled entries): keyId → PEM. */
  keys: Record<string, { pem: string; principal: string }>;
}

export interface RangeNode {
  level: number;
  index: number;
  hash: Buffer;
}

export interface VerifyResult {
  firstSeq: number;
  count: number;
  nodes: RangeNode[];
  decisions: number;
  error: string | null;
}

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);
const READ_CHUNK = 8 * 1024 * 1024;
/** Read past a range's end by this much so its last line usually arrives in the same read. */
const LINE_SLACK = 64 * 1024;
const NEWLINE = 0x0a;
const DECISION_PAYLOAD_TYPE = 'application/vnd.breakglass.decision+json';

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Append an aligned perfect subtree to a compact range, merging right siblings into parents. */
export function appendAligned(stack: RangeNode[], node: RangeNode): void {
  let { level, index, hash } = node;
  while (index % 2 === 1 && stack.length > 0 && stack[stack.length - 1]!.level === level && stack[stack.length - 1]!.index === index - 1) {
    const left = stack.pop()!;
    hash = nodeHash(left.hash, hash);
    level++;
    index = (index - 1) / 2;
  }
  stack.push({ level, index, hash });
}

function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

function verifyRange(task: VerifyTask): VerifyResult {
  const fd = openSync(task.file, 'r');
  const keys = new Map<string, { key: KeyObject; verifier: string; principal: string }>();
  for (const [id, k] of Object.entries(task.keys)) keys.set(id, { key: createPublicKey(k.pem), verifier: Buffer.from(k.pem).toString('base64'), principal: k.principal });
  const stack: RangeNode[] = [];
  let firstSeq = -1;
  let expected = -1;
  let count = 0;
  let decisions = 0;
  try {
    // Find the first line that starts inside [start, end).
    let pos = task.start;
    if (pos > 0) {
      const probe = Buffer.alloc(1);
      readSync(fd, probe, 0, 1, pos - 1);
      if (probe[0] !== NEWLINE) {
        const skip = Buffer.alloc(64 * 1024);
        for (;;) {
          const n = readSync(fd, skip, 0, skip.length, pos);
          if (n === 0) return { firstSeq, count, nodes: stack, decisions, error: null };
          const nl = skip.subarray(0, n).indexOf(NEWLINE);
          if (nl >= 0) {
            pos += nl + 1;
            break;
          }
          pos += n;
        }
      }
    }
    let buf = Buffer.alloc(0);
    let bufStart = pos;
    while (pos < task.end) {
      let nl = buf.indexOf(NEWLINE, pos - bufStart);
      if (nl < 0) {
        // Read no further than the range (plus slack for its last line): small ranges stay cheap.
        const readAt = bufStart + buf.length;
        const chunk = Buffer.allocUnsafe(Math.max(LINE_SLACK, Math.min(READ_CHUNK, task.end - readAt + LINE_SLACK)));
        const n = readSync(fd, chunk, 0, chunk.length, readAt);
        if (n === 0) break;
        buf = Buffer.concat([buf.subarray(pos - bufStart), chunk.subarray(0, n)]);
        bufStart = pos;
        continue;
      }
      nl += bufStart;
      const line = buf.subarray(pos - bufStart, nl - bufStart);
      const text = line.toString('utf8');
      const entry = JSON.parse(text) as { seq: number; type: string; target: string; actor: string; data: Record<string, any>; spec?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (expected === -1) {
        firstSeq = entry.seq;
        expected = entry.seq;
      }
      if (entry.seq !== expected) return { firstSeq, count, nodes: stack, decisions, error: `entry at position ${expected} has seq ${entry.seq}` };
      const leaf = createHash('sha256').update(LEAF_PREFIX).update(line).digest();
      appendAligned(stack, { level: 0, index: entry.seq, hash: leaf });
      if (entry.type === 'key_enrolled') {
        keys.set(entry.data.keyId, { key: createPublicKey(entry.data.publicKeyPem), verifier: Buffer.from(entry.data.publicKeyPem).toString('base64'), principal: entry.data.principal });
      } else if (entry.type === 'key_revoked') {
        keys.delete(entry.data.keyId);
      } else if (entry.type === 'decision') {
        const bundle = entry.data.bundle;
        const key = keys.get(bundle.verificationMaterial.publicKey.hint);
        if (!key) return { firstSeq, count, nodes: stack, decisions, error: `decision ${entry.seq}: key not enrolled` };
        if (bundle.dsseEnvelope.payloadType !== DECISION_PAYLOAD_TYPE || bundle.dsseEnvelope.signatures.length !== 1) {
          return { firstSeq, count, nodes: stack, decisions, error: `decision ${entry.seq}: not a single-signature decision envelope` };
        }
        const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
        const sigB64 = bundle.dsseEnvelope.signatures[0].sig as string;
        if (!verify('sha256', pae(bundle.dsseEnvelope.payloadType, payload), key.key, Buffer.from(sigB64, 'base64'))) {
          return { firstSeq, count, nodes: stack, decisions, error: `decision ${entry.seq}: bad signature` };
        }
        const spec = entry.spec;
        if (
          spec?.payloadHash?.value !== createHash('sha256').update(payload).digest('hex') ||
          spec?.signatures?.[0]?.signature !== sigB64 ||
          spec?.signatures?.[0]?.verifier !== key.verifier
        ) {
          return { firstSeq, count, nodes: stack, decisions, error: `decision ${entry.seq}: Rekor fields do not match the bundle` };
        }
        // The signed statement must be about this entry's request and by the key's owner.
        const statement = JSON.parse(payload.toString('utf8')) as { requestId?: string; approver?: string };
        if (statement.requestId !== entry.target || statement.approver !== key.principal || entry.actor !== key.principal) {
          return { firstSeq, count, nodes: stack, decisions, error: `decision ${entry.seq}: statement does not match the entry or the key's owner` };
        }
        decisions++;
      }
      expected++;
      count++;
      pos = nl + 1;
    }
    return { firstSeq, count, nodes: stack, decisions, error: null };
  } catch (error) {
    return { firstSeq, count, nodes: stack, decisions, error: `entry near seq ${expected}: ${(error as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/** Floor probe: `count` bare ECDSA verifies plus leaf and node hashing, nothing else. */
export interface FloorTask {
  floor: { pae: Uint8Array; sig: Uint8Array; pem: string; line: Uint8Array; count: number };
}

function floorProbe(task: FloorTask['floor']): number {
  const key = createPublicKey(task.pem);
  const pae = Buffer.from(task.pae);
  const sig = Buffer.from(task.sig);
  const line = Buffer.from(task.line);
  const started = process.hrtime.bigint();
  let h: Buffer = Buffer.alloc(32);
  for (let i = 0; i < task.count; i++) {
    if (!verify('sha256', pae, key, sig)) throw new Error('floor probe signature did not verify');
    h = nodeHash(createHash('sha256').update(LEAF_PREFIX).update(line).digest(), h);
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

parentPort?.on('message', (task: VerifyTask | FloorTask) => {
  if ('floor' in task) parentPort!.postMessage(floorProbe(task.floor));
  else parentPort!.postMessage(verifyRange(task));
});
// Tell the pool this thread is loaded, so start-up is not timed as verification.
parentPort?.postMessage('ready');
