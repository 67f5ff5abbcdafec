/**
 * Start-up verification benchmark (issue 11). Run:
 *   node --import tsx bench/ledger-startup.ts [--entries 1000000] [--unsigned 10000]
 *
 * Builds a real SQLite store of --entries ledger entries, every one bound by the log key at
 * append (1% of them request lifecycles: request_created, an approving decision, activation;
 * the rest evaluations under those bypasses, as on a busy store), with the transparency log's
 * nodes and a signed checkpoint covering all but the last --unsigned entries. Then times the
 * store's start-up check on it (grant-store/ledger/ledger-integrity.ts through the guard's
 * source: every row read from the database and hashed, the tree rebuilt and compared with the
 * signed root and the stored leaves, every row past the checkpoint's binding verified, the
 * state projection rebuilt), and prints its ratio to the floor measured in the same run on one
 * core: SHA-256 of every leaf and interior node plus one Ed25519 verify per row past the
 * checkpoint. Target: ≤ 2×.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryBindingMessage } from '../shared/ledger/entry-binding';
import { ed25519NoteVerifier, nodeTreeHasher } from '../shared/node/ledger/node-crypto';
import { checkLedgerAtStart } from '../grant-store/ledger/ledger-integrity';
import { ledgerCheckSource } from '../grant-store/ledger/ledger-guard';
import { loadLogKey } from '../grant-store/ledger/log-key';
import { TransparencyLog } from '../grant-store/ledger/transparency-log';
import { SqliteStore } from '../grant-store/storage/sqlite/sqlite-store';
import type { NewLedgerEntry } from '../grant-store/storage/store';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} needs a non-negative integer`);
  return value;
}
const N = flag('entries', 1_000_000);
const UNSIGNED = Math.min(flag('unsigned', 10_000), N);
const BATCH = 10_000;
const LIFECYCLE_EVERY = 100;
const RUNS = 3;
const seconds = (ns: bigint) => Number(ns) / 1e9;

const tmp = mkdtempSync(join(tmpdir(), 'bg-startup-bench-'));
const dataDir = join(tmp, 'data');
mkdirSync(dataDir);
const { privateKey } = generateKeyPairSync('ed25519');
writeFileSync(join(dataDir, 'log-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
const key = await loadLogKey(join(dataDir, 'log-key.pem'));
const databasePath = join(dataDir, 'breakglass.db');
const store = SqliteStore.open(databasePath, { binder: key.binder });

const base = Date.parse('2026-03-01T09:00:00.000Z');
function entriesFor(i: number): NewLedgerEntry {
  const cycle = Math.floor(i / LIFECYCLE_EVERY);
  const id = `req_${cycle.toString(16).padStart(26, '0')}`;
  const time = new Date(base + i * 100).toISOString();
  const common = { time, actorRole: 'gate' as const, target: id, gate: 'ci-tests', reason: null, incidentRef: null, sourceAddress: '127.0.0.1', approver: null, expiresAt: null };
  const at = i % LIFECYCLE_EVERY;
  if (at === 0) {
    return { ...common, type: 'request_created', actor: 'alice', actorRole: 'requester', reason: 'Flaky suite blocks the hotfix', data: { requester: 'alice', team: 'payments', scope: { repo: 'payments-api', branch: 'main' }, severity: 'sev3', ttl: '1h', digest: `sha256:${cycle}` } };
  }
  if (at === 1) return { ...common, type: 'decision', actor: 'bob', actorRole: 'approver', approver: 'bob', data: { decision: 'approve', keyId: 'key-bob', comment: 'ok', ttl: '1h', signatureDigest: `sha256:s${cycle}`, nonce: `n${cycle}` } };
  if (at === 2) return { ...common, type: 'bypass_activated', actor: 'system', actorRole: 'system', approver: 'bob', expiresAt: new Date(base + i * 100 + 3_600_000).toISOString(), data: { bypassId: `byp_${cycle}`, ttl: '1h' } };
  return { ...common, type: 'evaluation_under_bypass', actor: 'ci-gate', data: { bypassId: `byp_${cycle}`, subject: { repo: 'payments-api', branch: 'main' }, context: null, verdict: 'warn', gateKind: 'quality' } };
}

async function append(from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += BATCH) {
    const end = Math.min(to, start + BATCH);
    await store.transaction(async (tx) => {
      await tx.appendLedger(Array.from({ length: end - start }, (_, k) => entriesFor(start + k)));
    });
  }
}

const buildStarted = process.hrtime.bigint();
await append(0, N - UNSIGNED);
// The log integrates and signs what is there, then stops following (as at a clean shutdown).
const log = await TransparencyLog.open({ store, dataDir });
await log.close();
await append(N - UNSIGNED, N);
console.log(`built ${N.toLocaleString('en')} bound entries (checkpoint at ${(N - UNSIGNED).toLocaleString('en')}) in ${seconds(process.hrtime.bigint() - buildStarted).toFixed(1)} s`);

// The floor, on one core, on the same bytes: every leaf and interior node hashed, one Ed25519
// verify per row past the checkpoint.
const texts: Buffer[] = [];
for (let from = 0; from < N; from += BATCH) for (const r of await store.getLedgerEntryTexts(from, BATCH)) texts.push(Buffer.from(r.text, 'utf8'));
const publicKey = createPublicKey(createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })));
function floor(): number {
  const started = process.hrtime.bigint();
  const leaf = Buffer.from([0]);
  const node = Buffer.from([1]);
  let level: Buffer[] = texts.map((t) => createHash('sha256').update(leaf).update(t).digest());
  const leaves = level;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(createHash('sha256').update(node).update(level[i]!).update(level[i + 1]!).digest());
    if (level.length % 2 === 1) next.push(level.at(-1)!);
    level = next;
  }
  const signature = sign(null, entryBindingMessage(key.origin, N - 1, leaves[N - 1]!), privateKey);
  for (let seq = N - UNSIGNED; seq < N; seq++) verify(null, entryBindingMessage(key.origin, seq, leaves[seq]!), publicKey, signature);
  return seconds(process.hrtime.bigint() - started);
}

async function check(): Promise<{ s: number; halt: string | null; projected: number }> {
  const started = process.hrtime.bigint();
  const tables = await store.openLogTables();
  try {
    const result = await checkLedgerAtStart(ledgerCheckSource(store, tables), { hasher: nodeTreeHasher, logKey: ed25519NoteVerifier(key.origin, key.publicKeyPem), binder: key.binder });
    return { s: seconds(process.hrtime.bigint() - started), halt: result.halt?.reason ?? null, projected: result.projection.requests.size };
  } finally {
    await tables.close();
  }
}

const floors: number[] = [];
const checks: number[] = [];
let last: Awaited<ReturnType<typeof check>> | undefined;
for (let run = 0; run < RUNS; run++) {
  floors.push(floor());
  last = await check();
  checks.push(last.s);
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s.at(-1)! };
};
const f = stats(floors);
const c = stats(checks);
console.log(`start-up check of ${N.toLocaleString('en')} entries (${UNSIGNED.toLocaleString('en')} past the checkpoint, ${last!.projected.toLocaleString('en')} requests projected): min ${c.min.toFixed(2)} s, median ${c.median.toFixed(2)} s, max ${c.max.toFixed(2)} s`);
console.log(`hashing + signature floor (one core, same bytes): min ${f.min.toFixed(2)} s, median ${f.median.toFixed(2)} s, max ${f.max.toFixed(2)} s`);
console.log(`ratio (median/median): ${(c.median / f.median).toFixed(2)}× (target ≤ 2×)`);
if (last!.halt) {
  console.error(`SELF-TEST FAILED: the untouched ledger halted: ${last!.halt}`);
  process.exitCode = 1;
}
await store.close();
rmSync(tmp, { recursive: true, force: true });
