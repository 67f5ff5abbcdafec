/**
 * Ledger verification and append benchmark (issue 4 "Speed"). Run:
 *   node --import tsx bench/ledger-verify.ts [--entries 1000000] [--workers N] [--distinct 2000]
 *
 * 1. Builds a ledger of --entries entries (two key enrollments, then every entry a decision
 *    carrying an ECDSA P-256 DSSE signature; --distinct signed statements are reused, but every
 *    entry's signature is verified) as an export file, with a signed checkpoint.
 * 2. Verifies it offline with worker_threads across the cores and prints the time and its ratio
 *    to the floor measured in the same run: (signatures / one-core node:crypto ECDSA verify rate
 *    + one-core hashing time of every leaf and node) / cores.
 * 3. Incremental verification of the last 10,000 entries against the stored checkpoint before
 *    them (frontier + signed note), as a client that verified earlier does.
 * 4. SQLite append throughput with durable commits (synchronous=FULL), one transaction at a
 *    time and 16 concurrent writers sharing group commits: an unbound store alone, then the
 *    grant store's path (every entry bound by the log key, the ledger guard following, the
 *    transparency log verifying each binding and signing checkpoints), with their ratio.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { canonicalJson } from '../shared/canonical-json';
import { formatCheckpoint, parseCheckpoint } from '../shared/ledger/checkpoint';
import { signNote, verifyNote } from '../shared/ledger/signed-note';
import { ed25519NoteSigner, ed25519NoteVerifier } from '../shared/node/ledger/node-crypto';
import { keyIdFromPublicKeyPem } from '../shared/node/signing/key-id';
import { SqliteStore } from '../grant-store/storage/sqlite/sqlite-store';
import { TransparencyLog } from '../grant-store/ledger/transparency-log';
import { LedgerGuard } from '../grant-store/ledger/ledger-guard';
import { loadLogKey } from '../grant-store/ledger/log-key';
import type { NewLedgerEntry } from '../grant-store/storage/store';
import { appendAligned, type RangeNode, type VerifyResult, type VerifyTask } from './ledger-verify-worker';

const ORIGIN = 'breakglass.local/bench';
const INCREMENTAL_ENTRIES = 10_000;
const TASKS_PER_WORKER = 8;
const FLOOR_SAMPLE_VERIFIES = 3000;
const FLOOR_SAMPLE_HASHES = 50_000;
const APPEND_COUNT = 1000;
/** Concurrent writers in the group-commit append measurement (a store under load). */
const APPEND_IN_FLIGHT = 16;
const SEQ_SENTINEL = 987654321012345;
const TIME_SENTINEL = '2999-12-31T23:59:59.999Z';
const WRITE_BATCH = 10_000;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) {
    console.error(`--${name} needs a positive integer`);
    process.exit(2);
  }
  return value;
}

const N = flag('entries', 1_000_000);
const WORKERS = flag('workers', availableParallelism());
const DISTINCT = Math.min(flag('distinct', 2000), N);
if (N <= INCREMENTAL_ENTRIES + 2) {
  console.error(`--entries must exceed ${INCREMENTAL_ENTRIES + 2} (the incremental part verifies the last ${INCREMENTAL_ENTRIES})`);
  process.exit(2);
}

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);
const leafHash = (b: Buffer) => createHash('sha256').update(LEAF).update(b).digest();
const nodeHash = (l: Buffer, r: Buffer) => createHash('sha256').update(NODE).update(l).update(r).digest();
const seconds = (ns: bigint) => Number(ns) / 1e9;
const fmt = (s: number) => `${s.toFixed(2)} s`;

function rootOf(stack: RangeNode[]): Buffer {
  let h = stack[stack.length - 1]!.hash;
  for (let i = stack.length - 2; i >= 0; i--) h = nodeHash(stack[i]!.hash, h);
  return h;
}

function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

// ---------------------------------------------------------------------------------------------
// 1. Build the ledger file.
const tmp = mkdtempSync(join(tmpdir(), 'breakglass-bench-'));
const file = join(tmp, 'entries.jsonl');
// The ledger file is large: remove it however the run ends.
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
console.log(`ledger-verify bench: ${N.toLocaleString('en')} entries, ${WORKERS} worker threads, ${DISTINCT} distinct signed statements (every entry's signature is verified)`);
const buildStart = process.hrtime.bigint();

const approvers = ['alice', 'bob'].map((principal) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { principal, privateKey, publicKeyPem, keyId: keyIdFromPublicKeyPem(publicKeyPem) };
});
const PAYLOAD_TYPE = 'application/vnd.breakglass.decision+json';
const baseTime = Date.parse('2026-01-01T00:00:00Z');

function fixedEntry(seq: number, type: string, actor: string, target: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { seq, time: new Date(baseTime + seq).toISOString(), type, actor, actorRole: 'admin', target, gate: null, reason: null, incidentRef: null, approver: null, expiresAt: null, sourceAddress: '127.0.0.1', data, ...extra };
}

/** Canonical text templates with sentinel seq and time, split so each entry is a concatenation. */
const templates: string[][] = [];
for (let i = 0; i < DISTINCT; i++) {
  const a = approvers[i % 2]!;
  const requestId = `req_${i.toString(16).padStart(16, '0')}`;
  const statement = {
    _type: 'https://breakglass.dev/decision/v1',
    approver: a.principal,
    comment: 'Checked the incident and the rollback plan',
    decision: 'approve',
    nonce: randomBytes(16).toString('hex'),
    requestDigest: `sha256:${createHash('sha256').update(requestId).digest('hex')}`,
    requestId,
    signedAt: new Date(baseTime).toISOString(),
    ttl: '1h',
  };
  const payload = Buffer.from(canonicalJson(statement));
  const sig = sign('sha256', pae(PAYLOAD_TYPE, payload), a.privateKey).toString('base64');
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: a.keyId }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: PAYLOAD_TYPE, signatures: [{ sig, keyid: '' }] },
  };
  const entry = fixedEntry(SEQ_SENTINEL, 'decision', a.principal, requestId, { decision: 'approve', keyId: a.keyId, bundle }, {
    time: TIME_SENTINEL,
    actorRole: 'approver',
    approver: a.principal,
    kind: 'dsse',
    apiVersion: '0.0.1',
    spec: {
      payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
      signatures: [{ signature: sig, verifier: Buffer.from(a.publicKeyPem).toString('base64') }],
    },
  });
  const text = canonicalJson(entry);
  const [beforeSeq, rest] = text.split(String(SEQ_SENTINEL)) as [string, string];
  const [middle, afterTime] = rest.split(TIME_SENTINEL) as [string, string];
  templates.push([beforeSeq, middle, afterTime]);
}

const fd = openSync(file, 'w');
const frontier: RangeNode[] = [];
let stored: { stack: RangeNode[]; note: string; byteOffset: number } | undefined;
let bytesWritten = 0;
let batch: string[] = [];
const flush = () => {
  const chunk = Buffer.from(batch.join(''));
  writeSync(fd, chunk);
  bytesWritten += chunk.length;
  batch = [];
};
const logKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const logSigner = ed25519NoteSigner(ORIGIN, logKey);
const signCheckpoint = (size: number, stack: RangeNode[]) => signNote(formatCheckpoint({ origin: ORIGIN, size, rootHash: rootOf(stack), extensions: [] }), [logSigner]);
let pendingBytes = 0;
for (let seq = 0; seq < N; seq++) {
  if (seq === N - INCREMENTAL_ENTRIES) {
    stored = { stack: frontier.map((n) => ({ ...n })), note: signCheckpoint(seq, frontier), byteOffset: bytesWritten + pendingBytes };
  }
  let text: string;
  if (seq < 2) {
    const a = approvers[seq]!;
    text = canonicalJson(fixedEntry(seq, 'key_enrolled', 'root', a.keyId, { keyId: a.keyId, principal: a.principal, publicKeyPem: a.publicKeyPem, hardwareBacked: false }, { approver: a.principal }));
  } else {
    const t = templates[seq % DISTINCT]!;
    text = `${t[0]}${seq}${t[1]}${new Date(baseTime + seq).toISOString()}${t[2]}`;
  }
  const line = `${text}\n`;
  appendAligned(frontier, { level: 0, index: seq, hash: leafHash(Buffer.from(text)) });
  batch.push(line);
  pendingBytes += Buffer.byteLength(line);
  if (batch.length === WRITE_BATCH) {
    flush();
    pendingBytes = 0;
  }
}
flush();
closeSync(fd);
const checkpointNote = signCheckpoint(N, frontier);
const logPublicKeyPem = createPublicKey(createPrivateKey(logKey)).export({ type: 'spki', format: 'pem' }).toString();
console.log(`built ${(bytesWritten / 1e6).toFixed(0)} MB of entries in ${fmt(seconds(process.hrtime.bigint() - buildStart))} (not timed)`);

// ---------------------------------------------------------------------------------------------
// Worker pool.
// Node 20 cannot start a worker from a .ts file directly: register tsx inside the worker first.
const WORKER_URL = new URL('./ledger-verify-worker.ts', import.meta.url).href;
const workers = Array.from(
  { length: WORKERS },
  () => new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL)}); });`, { eval: true }),
);
await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));

// 2. The floor, measured now on this machine (after the workers are loaded).
const sampleText = Buffer.from(`${templates[0]![0]}5${templates[0]![1]}${TIME_SENTINEL}${templates[0]![2]}`);
const sampleEntry = JSON.parse(sampleText.toString()) as { data: { bundle: { dsseEnvelope: { payload: string; signatures: [{ sig: string }] } } } };
const samplePae = pae(PAYLOAD_TYPE, Buffer.from(sampleEntry.data.bundle.dsseEnvelope.payload, 'base64'));
const sampleSig = Buffer.from(sampleEntry.data.bundle.dsseEnvelope.signatures[0].sig, 'base64');
const sampleKey = createPublicKey(approvers[0]!.publicKeyPem);
let t0 = process.hrtime.bigint();
for (let i = 0; i < FLOOR_SAMPLE_VERIFIES; i++) if (!verify('sha256', samplePae, sampleKey, sampleSig)) throw new Error('floor sample did not verify');
const verifyRate = FLOOR_SAMPLE_VERIFIES / seconds(process.hrtime.bigint() - t0);
t0 = process.hrtime.bigint();
let h = leafHash(sampleText);
for (let i = 0; i < FLOOR_SAMPLE_HASHES; i++) h = nodeHash(leafHash(sampleText), h);
const hashPerEntry = seconds(process.hrtime.bigint() - t0) / FLOOR_SAMPLE_HASHES;
const signatures = N - 2;
const floorSeconds = (signatures / verifyRate + N * hashPerEntry) / WORKERS;
console.log(`floor: ECDSA P-256 verify ${Math.round(verifyRate).toLocaleString('en')}/s on one core, leaf+node hashing ${(hashPerEntry * 1e6).toFixed(2)} µs/entry → (${signatures.toLocaleString('en')} sigs / rate + hashing) / ${WORKERS} cores = ${fmt(floorSeconds)}`);

// ---------------------------------------------------------------------------------------------
function runTasks(tasks: VerifyTask[]): Promise<VerifyResult[]> {
  const results: VerifyResult[] = new Array(tasks.length);
  let next = 0;
  return new Promise((resolve, reject) => {
    let running = 0;
    const startOn = (w: Worker) => {
      if (next >= tasks.length) {
        if (running === 0) resolve(results);
        return;
      }
      const i = next++;
      running++;
      w.once('message', (r: VerifyResult) => {
        running--;
        results[i] = { ...r, nodes: r.nodes.map((n) => ({ ...n, hash: Buffer.from(n.hash) })) };
        startOn(w);
      });
      w.postMessage(tasks[i]);
    };
    for (const w of workers) {
      w.removeAllListeners('error');
      w.once('error', reject);
      startOn(w);
    }
  });
}

function enrolledKeys(): Record<string, { pem: string; principal: string }> {
  // The ledger's own key_enrolled entries (seq 0 and 1) are read before the parallel pass.
  const head = Buffer.alloc(64 * 1024);
  const f = openSync(file, 'r');
  const n = readSync(f, head, 0, head.length, 0);
  closeSync(f);
  const keys: Record<string, { pem: string; principal: string }> = {};
  for (const line of head.subarray(0, n).toString().split('\n').slice(0, 2)) {
    const e = JSON.parse(line) as { type: string; data: { keyId: string; publicKeyPem: string; principal: string } };
    if (e.type === 'key_enrolled') keys[e.data.keyId] = { pem: e.data.publicKeyPem, principal: e.data.principal };
  }
  return keys;
}

async function verifyRange(start: number, end: number, firstSeq: number, base: RangeNode[], expectedNote: string, trustedNote?: string): Promise<{ ok: boolean; why: string; decisions: number }> {
  const logVerifier = ed25519NoteVerifier(ORIGIN, logPublicKeyPem);
  const cp = parseCheckpoint(verifyNote(expectedNote, [logVerifier]).text);
  if (trustedNote) {
    const trusted = parseCheckpoint(verifyNote(trustedNote, [logVerifier]).text);
    if (!rootOf(base).equals(Buffer.from(trusted.rootHash)) || trusted.size !== firstSeq) return { ok: false, why: 'stored frontier does not match the trusted checkpoint', decisions: 0 };
  }
  const keys = enrolledKeys();
  const parts = WORKERS * TASKS_PER_WORKER;
  const step = Math.ceil((end - start) / parts);
  const tasks: VerifyTask[] = [];
  for (let s = start; s < end; s += step) tasks.push({ file, start: s, end: Math.min(end, s + step), keys });
  const results = await runTasks(tasks);
  const stack = base.map((n) => ({ ...n }));
  let expected = firstSeq;
  let decisions = 0;
  for (const r of results) {
    if (r.error) return { ok: false, why: r.error, decisions };
    if (r.count === 0) continue;
    if (r.firstSeq !== expected) return { ok: false, why: `entries ${expected}.. missing or reordered (next range starts at ${r.firstSeq})`, decisions };
    for (const node of r.nodes) appendAligned(stack, node);
    expected += r.count;
    decisions += r.decisions;
  }
  if (expected !== cp.size) return { ok: false, why: `${expected} entries, checkpoint covers ${cp.size}`, decisions };
  if (!rootOf(stack).equals(Buffer.from(cp.rootHash))) return { ok: false, why: 'root does not match the signed checkpoint', decisions };
  return { ok: true, why: '', decisions };
}

/**
 * The same floor measured on all worker threads at once, right now: on a shared machine the
 * one-core rate × cores overstates what the cores deliver, so the ratio is also given against
 * this (bare verify + hash per entry, every thread busy, wall-clock).
 */
async function parallelFloorSecondsPerEntry(): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve) => {
          w.once('message', resolve);
          w.postMessage({ floor: { pae: samplePae, sig: sampleSig, pem: approvers[0]!.publicKeyPem, line: sampleText, count: FLOOR_SAMPLE_VERIFIES } });
        }),
    ),
  );
  return seconds(process.hrtime.bigint() - started) / (FLOOR_SAMPLE_VERIFIES * WORKERS);
}

// ---------------------------------------------------------------------------------------------
// 3. Full offline verification.
const probeBefore = await parallelFloorSecondsPerEntry();
t0 = process.hrtime.bigint();
const full = await verifyRange(0, bytesWritten, 0, [], checkpointNote);
const fullSeconds = seconds(process.hrtime.bigint() - t0);
const probeAfter = await parallelFloorSecondsPerEntry();
const parallelFloor = ((probeBefore + probeAfter) / 2) * N;
if (!full.ok) {
  console.error(`FULL VERIFICATION FAILED: ${full.why}`);
  process.exitCode = 1;
}
console.log(`full offline verification: ${N.toLocaleString('en')} entries, ${full.decisions.toLocaleString('en')} signatures in ${fmt(fullSeconds)} → ${Math.round(N / fullSeconds).toLocaleString('en')} entries/s`);
console.log(`  ratio to the floor (one-core rate × ${WORKERS} cores): ${(fullSeconds / floorSeconds).toFixed(2)}× (target ≤ 1.5×)`);
console.log(`  ratio to the floor measured on ${WORKERS} threads around the run (${fmt(parallelFloor)}): ${(fullSeconds / parallelFloor).toFixed(2)}×`);

// 4. Incremental: the last 10,000 entries against the checkpoint stored before them.
t0 = process.hrtime.bigint();
const inc = await verifyRange(stored!.byteOffset, bytesWritten, N - INCREMENTAL_ENTRIES, stored!.stack, checkpointNote, stored!.note);
const incSeconds = seconds(process.hrtime.bigint() - t0);
if (!inc.ok) {
  console.error(`INCREMENTAL VERIFICATION FAILED: ${inc.why}`);
  process.exitCode = 1;
}
console.log(`incremental verification: ${INCREMENTAL_ENTRIES.toLocaleString('en')} new entries against the stored checkpoint in ${fmt(incSeconds)} (target < 1.5 s)`);
// Self-test: the same incremental pass over a copy with one flipped bit must fail (a verifier
// that cannot fail proves nothing).
{
  const f = openSync(file, 'r+');
  const at = stored!.byteOffset + Math.floor((bytesWritten - stored!.byteOffset) / 2);
  const byte = Buffer.alloc(1);
  readSync(f, byte, 0, 1, at);
  byte[0]! ^= byte[0] === 0x0a || byte[0] === 0x0b ? 0x10 : 0x01;
  writeSync(f, byte, 0, 1, at);
  closeSync(f);
  const tampered = await verifyRange(stored!.byteOffset, bytesWritten, N - INCREMENTAL_ENTRIES, stored!.stack, checkpointNote, stored!.note);
  if (tampered.ok) {
    console.error('SELF-TEST FAILED: a flipped bit was not detected');
    process.exitCode = 1;
  } else console.log(`self-test: a flipped bit in the new entries is detected (${tampered.why})`);
}
await Promise.all(workers.map((w) => w.terminate()));

// ---------------------------------------------------------------------------------------------
// 5. Durable appends on the embedded store: unbound (storage alone), then as the grant store
// runs them: every entry bound by the log key as it is appended (issue 11), the ledger guard
// following the store, and the transparency log verifying each binding before it signs.
const dataDir = join(tmp, 'store');
(await import('node:fs')).mkdirSync(dataDir);
const entryTemplate: NewLedgerEntry = JSON.parse(`${templates[0]![0]}0${templates[0]![1]}${TIME_SENTINEL}${templates[0]![2]}`) as NewLedgerEntry;
delete (entryTemplate as { seq?: number }).seq;
/** APPEND_COUNT one-entry transactions, `inFlight` at a time (1 = every commit its own fsync; more share group commits). */
async function appendRate(store: SqliteStore, inFlight = 1): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < APPEND_COUNT) {
        await store.transaction(async (tx) => {
          await tx.appendLedger([{ ...entryTemplate, time: new Date().toISOString() }]);
        });
      }
    }),
  );
  return APPEND_COUNT / seconds(process.hrtime.bigint() - started);
}
const unboundStore = SqliteStore.open(join(dataDir, 'unbound.db'));
const bare = await appendRate(unboundStore);
const bareConcurrent = await appendRate(unboundStore, APPEND_IN_FLIGHT);
await unboundStore.close();
const storeLogKey = await loadLogKey(join(dataDir, 'log-key.pem'));
const databasePath = join(dataDir, 'breakglass.db');
const store = SqliteStore.open(databasePath, { binder: storeLogKey.binder });
const guard = await LedgerGuard.start({ store, key: storeLogKey, databasePath, clock: () => new Date() });
const log = await TransparencyLog.open({ store, dataDir });
const withLog = await appendRate(store);
const withLogConcurrent = await appendRate(store, APPEND_IN_FLIGHT);
await log.waitForCheckpoint(2 * APPEND_COUNT);
const checkpointed = log.latestCheckpoint()!.treeSize;
const rate = (n: number) => `${Math.round(n).toLocaleString('en')}/s`;
console.log(
  `durable appends (SQLite WAL, synchronous=FULL), bound by the log key with the ledger guard following and the transparency log verifying bindings and signing checkpoints: ${rate(withLog)} one commit at a time (unbound store alone ${rate(bare)}, ratio ${(withLog / bare).toFixed(2)}), ${rate(withLogConcurrent)} with ${APPEND_IN_FLIGHT} writers sharing group commits (unbound ${rate(bareConcurrent)}, ratio ${(withLogConcurrent / bareConcurrent).toFixed(2)}); target ≥ 500/s; checkpoint covers ${checkpointed}${guard.halted ? `; HALTED: ${guard.describe()}` : ''}`,
);
if (guard.halted || checkpointed !== 2 * APPEND_COUNT) {
  console.error('SELF-TEST FAILED: the guarded store halted or did not sign every bound entry');
  process.exitCode = 1;
}
await log.close();
await guard.stop();
await store.close();
rmSync(tmp, { recursive: true, force: true });
