/**
 * Start-up verification benchmark (issue 11). Run:
 *   node --import tsx bench/ledger-startup.ts [--entries 1000000] [--unsigned 10000] [--rounds 3] [--data-dir DIR]
 *
 * Builds a real SQLite store of --entries ledger entries, every one bound by the log key at
 * append (1% of them request lifecycles: request_created, an approving decision, activation;
 * the rest evaluations under those bypasses, as on a busy store), with the transparency log's
 * nodes and a signed checkpoint covering all but the last --unsigned entries. Then times the
 * store's start-up check on it (checkStoreLedgerAtStart, what LedgerGuard.start runs: every row
 * read from the database and hashed, the tree rebuilt and compared with the signed root, with the
 * stored leaves and the stored tile-level nodes (compared inside the database), every row past
 * the checkpoint's binding verified, the state projection rebuilt), and prints its ratio to the floor measured in the same run on one
 * core: SHA-256 of every leaf and interior node (one-shot crypto.hash, digests as strings) plus one HMAC-SHA256
 * of the binding statement per row past the checkpoint (a v2 binding's check). Target: ≤ 2×. Wall time and CPU time (all threads) both: on a shared machine the
 * wall-time ratio moves with what else runs, the CPU-time ratio much less. Rounds alternate
 * floor and check; the floor's copy of the bytes is read before it and dropped after it, so the
 * check runs with the heap a starting store has.
 * `--data-dir DIR` keeps the built store there and reuses it on the next run (a 1M-entry build
 * takes minutes); the entries are a pure function of their seq, so a reused store is the same.
 */
import { createHmac, createSecretKey, generateKeyPairSync, hash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryBindingStatement } from '../shared/ledger/entry-binding';
import { checkStoreLedgerAtStart } from '../grant-store/ledger/ledger-guard';
import { minMedianMax } from './support/stats';
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
const RUNS = Math.max(1, flag('rounds', 3));
const keptDir = (() => {
  const i = process.argv.indexOf('--data-dir');
  return i < 0 ? undefined : process.argv[i + 1];
})();
const seconds = (ns: bigint) => Number(ns) / 1e9;

const tmp = keptDir ?? mkdtempSync(join(tmpdir(), 'bg-startup-bench-'));
const dataDir = join(tmp, 'data');
const built = existsSync(join(dataDir, 'built.json'));
if (built) {
  const was = JSON.parse(readFileSync(join(dataDir, 'built.json'), 'utf8')) as { entries: number; unsigned: number };
  if (was.entries !== N || was.unsigned !== UNSIGNED) throw new Error(`${dataDir} holds a store of ${was.entries} entries (${was.unsigned} unsigned): pass the same --entries/--unsigned or another --data-dir`);
} else {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'log-key.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
}
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

if (!built) {
  const buildStarted = process.hrtime.bigint();
  await append(0, N - UNSIGNED);
  // The log integrates and signs what is there, then stops following (as at a clean shutdown).
  const log = await TransparencyLog.open({ store, dataDir });
  await log.close();
  await append(N - UNSIGNED, N);
  writeFileSync(join(dataDir, 'built.json'), JSON.stringify({ entries: N, unsigned: UNSIGNED }));
  console.log(`built ${N.toLocaleString('en')} bound entries (checkpoint at ${(N - UNSIGNED).toLocaleString('en')}) in ${seconds(process.hrtime.bigint() - buildStarted).toFixed(1)} s`);
} else {
  console.log(`reusing the store of ${N.toLocaleString('en')} bound entries in ${dataDir}`);
}

// The floor, on one core, on the same bytes: every leaf and interior node hashed, one HMAC per
// row past the checkpoint. The bytes are read (untimed) for each round and dropped
// before the check runs.
/** A MAC key of the binding key's size: the floor's HMAC costs what a binding check's does. */
const macKey = createSecretKey(randomBytes(32));
const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
let floorCpu = 0;
async function floor(): Promise<number> {
  const texts: string[] = [];
  for (let from = 0; from < N; from += BATCH) for (const r of await store.getLedgerEntryTexts(from, BATCH)) texts.push(r.text);
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  // The cheapest SHA-256 node:crypto has: one-shot hash with the digest as a "binary" (Latin-1)
  // string (a Buffer digest costs an ArrayBuffer of its own; the check copies each into a 32-byte
  // array, sha256OneShot), a leaf = SHA-256("\0" + text), a node over one reused 65-byte buffer.
  let level: string[] = texts.map((t) => hash('sha256', `\0${t}`, 'binary'));
  const leaves = level;
  const nodeInput = Buffer.alloc(65, 0x01);
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      nodeInput.write(level[i]!, 1, 'latin1');
      nodeInput.write(level[i + 1]!, 33, 'latin1');
      next.push(hash('sha256', nodeInput, 'binary'));
    }
    if (level.length % 2 === 1) next.push(level.at(-1)!);
    level = next;
  }
  const leafBytes = (seq: number) => Buffer.from(leaves[seq]!, 'latin1');
  for (let seq = N - UNSIGNED; seq < N; seq++) createHmac('sha256', macKey).update(entryBindingStatement(key.origin, seq, leafBytes(seq)), 'utf8').digest();
  floorCpu = cpuSeconds(process.cpuUsage(cpuStarted));
  return seconds(process.hrtime.bigint() - started);
}

async function check(): Promise<{ s: number; cpu: number; halt: string | null; projected: number }> {
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  // What LedgerGuard.start runs (the log tables opened, the check).
  const result = await checkStoreLedgerAtStart(store, key);
  return { s: seconds(process.hrtime.bigint() - started), cpu: cpuSeconds(process.cpuUsage(cpuStarted)), halt: result.halt?.reason ?? null, projected: result.projection.requests.size };
}

const floors: number[] = [];
const checks: number[] = [];
const floorCpus: number[] = [];
const checkCpus: number[] = [];
let last: Awaited<ReturnType<typeof check>> | undefined;
for (let run = 0; run < RUNS; run++) {
  floors.push(await floor());
  floorCpus.push(floorCpu);
  last = await check();
  checks.push(last.s);
  checkCpus.push(last.cpu);
  console.log(`round ${run + 1}: floor ${floors.at(-1)!.toFixed(2)} s (CPU ${floorCpu.toFixed(2)} s), check ${last.s.toFixed(2)} s (CPU ${last.cpu.toFixed(2)} s, all threads) (load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
}
const stats = minMedianMax;
const f = stats(floors);
const c = stats(checks);
console.log(`start-up check of ${N.toLocaleString('en')} entries (${UNSIGNED.toLocaleString('en')} past the checkpoint, ${last!.projected.toLocaleString('en')} requests projected): min ${c.min.toFixed(2)} s, median ${c.median.toFixed(2)} s, max ${c.max.toFixed(2)} s`);
console.log(`hashing + binding-check floor (one core, same bytes): min ${f.min.toFixed(2)} s, median ${f.median.toFixed(2)} s, max ${f.max.toFixed(2)} s`);
const r = stats(checks.map((x, i) => x / floors[i]!));
console.log(`ratio (median/median): ${(c.median / f.median).toFixed(2)}× (target ≤ 2×); per round (check / the floor just before it): min ${r.min.toFixed(2)}×, median ${r.median.toFixed(2)}×, max ${r.max.toFixed(2)}×`);
const fc = stats(floorCpus);
const cc = stats(checkCpus);
const rc = stats(checkCpus.map((x, i) => x / floorCpus[i]!));
console.log(`CPU time (less sensitive to other work on the machine): check min ${cc.min.toFixed(2)} / median ${cc.median.toFixed(2)} / max ${cc.max.toFixed(2)} s, floor min ${fc.min.toFixed(2)} / median ${fc.median.toFixed(2)} / max ${fc.max.toFixed(2)} s; per round ratio min ${rc.min.toFixed(2)}×, median ${rc.median.toFixed(2)}×, max ${rc.max.toFixed(2)}×`);
console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
if (last!.halt) {
  console.error(`SELF-TEST FAILED: the untouched ledger halted: ${last!.halt}`);
  process.exitCode = 1;
}
await store.close();
if (!keptDir) rmSync(tmp, { recursive: true, force: true });
