/**
 * bench/check-throughput: how fast the grant store answers gate checks, against a bare Fastify
 * route measured in the same run on the same machine (the ratio is what matters; absolute
 * numbers depend on the box).
 *
 *   node --import tsx bench/check-throughput.ts [--duration 4] [--rounds 3] [--connections 10]
 *                        [--rate 2000, 1000 with PostgreSQL] [--bypasses 10000] [--database-url postgres://…]
 *
 * Scenarios: the bare route (baseline); POST /v1/checks with an empty index; with 10,000
 * active bypasses in the index and a subject none covers (block: answered from memory); with
 * the same index and a covered subject (warn: one transaction to record the evaluation). Each
 * is driven flat out by autocannon in a child process (so load generator and server get a core
 * each) for requests/s and the ratio, then at a fixed rate (default 2,000 checks/s) by
 * bench/open-loop.mjs for the latency target (autocannon's own rate limit sends bursts), in
 * interleaved rounds with the baseline so that load drift on a shared machine cancels out.
 * The bypasses are filed through the HTTP API under a standing scope (so the ledger holds their
 * entries and the store starts healthy), and every scenario's verdict is asserted before and
 * after timing: a halted store blocks everything and would otherwise be timed as "warn".
 * Targets: see BLOCK_TARGET / WARN_TARGET below.
 * With --database-url, each store runs on a fresh database created on that server and dropped after,
 * and a SQLite store with the same bypasses is timed too (PostgreSQL's warn target is relative to it).
 *
 * The disk's limit, in the same rounds (SQLite runs): a bare Fastify route that records each
 * request durably the way the store records a warn, with none of the store's work around it (no
 * auth, index, ledger entry, binding, counters or listeners): one row per request through the
 * store's own GroupCommitter on a bare WAL database, synchronous=NORMAL with the WAL fdatasync'ed
 * after COMMIT and checkpointed by the store's WalCheckpointer thread, answered after the sync. The warn's ratio to it says how much of the gap to the
 * bare route is the store and how much is the disk (fsync latency with 10 connections in flight).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { open } from 'node:fs/promises';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { GroupCommitter } from '../grant-store/storage/sqlite/group-commit';
import { WalCheckpointer } from '../grant-store/storage/sqlite/wal-checkpointer';
import { initDataDir } from '../grant-store/admin/init';
import { dataDirPaths } from '../grant-store/admin/data-dir';
import { startGrantStore, type RunningGrantStore } from '../grant-store/http/server';
import { tempDatabase } from './support/bench-store';
import { statCpuSeconds } from './support/proc-cpu';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AUTOCANNON = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
const OPEN_LOOP = join(ROOT, 'bench', 'open-loop.mjs');
/** Requests in flight while seeding bypasses through the API. */
const SEED_CONCURRENCY = 16;
/** Let the JIT and the connection pools settle before each measured run. */
const WARMUP_SECONDS = 2;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rate: { type: 'string' },
    bypasses: { type: 'string', default: '10000' },
    'database-url': { type: 'string' },
  },
});
const DURATION = Number(args.duration);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const POSTGRES_RUN = Boolean(args['database-url']);
/** The fixed rate of the latency targets: 2,000 checks/s on SQLite, 1,000 on PostgreSQL (issue 16). */
const RATE = Number(args.rate ?? (POSTGRES_RUN ? 1000 : 2000));
const BYPASSES = Number(args.bypasses);
const POSTGRES = POSTGRES_RUN;
/**
 * Targets: block (issue 16) ≥ 0.8× a bare route on SQLite, ≥ 0.7× on PostgreSQL, p99 ≤ 5 ms
 * (issue 6); warn (issue 16) on SQLite ≥ 0.6× with p99 ≤ 10 ms at 2,000 checks/s. PostgreSQL's
 * warn target is relative to SQLite's warn (≥ 0.5×, p99 ≤ 25 ms at 1,000/s), so a PostgreSQL
 * run also times a SQLite store's warn in the same rounds and takes the ratio against it.
 */
const BLOCK_TARGET = { ratio: POSTGRES ? 0.7 : 0.8, p99Ms: 5 };
const WARN_TARGET = POSTGRES ? { ratio: 0.5, p99Ms: 25 } : { ratio: 0.6, p99Ms: 10 };

const POLICY = `version: 1
ttlChoices: [15m, 1h, 24h]
decisionWindow: 24h
tiers:
  low:
    approvals: 1
    approverGroups: [leads]
    maxTtl: 24h
gates:
  - id: ci-tests
    kind: slow
    tier: low
    scopeKeys: [repo, branch]
teams:
  payments:
    members: [alice]
  platform:
    members: [bob]
approvers:
  leads: [bob]
standingScopes:
  - id: bench-ci
    gate: ci-tests
    team: payments
    scope: { repo: bench-svc }
    maxTtl: 24h
    approvedBy: [bob]
    validUntil: "2099-12-31"
    reason: the check-throughput bench's seeded bypasses (filed under this standing scope, active at once)
`;

interface Run {
  rps: number;
  /** Server CPU (user + system) per answered request, µs: this process serves every route. */
  cpuUs: number;
  /**
   * Of that, the event loop's thread alone (µs per request; NaN off Linux): the work that queues
   * requests, without what worker threads (WAL checkpoints, entry bindings) and libuv's pool
   * (fsyncs) do beside it.
   */
  loopUs: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** The main thread's CPU time so far (user + system, µs) from /proc (Linux; clock ticks of 10 ms), or NaN. */
function loopCpuUs(): number {
  try {
    return statCpuSeconds(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')) * 1e6;
  } catch {
    return NaN;
  }
}

function autocannon(url: string, body: string, token: string | undefined, extra: string[]): Promise<Run> {
  const headers = ['-H', 'content-type=application/json', ...(token ? ['-H', `authorization=Bearer ${token}`] : [])];
  const argv = [AUTOCANNON, '-j', '-m', 'POST', '-b', body, ...headers, ...extra, url];
  return new Promise((resolve, reject) => {
    // The servers all run in this process and the load generator in a child, so this
    // process's CPU time per request is what the server spends on it, however busy the
    // machine (a steadier comparison than req/s on shared cores).
    const cpuAtStart = process.cpuUsage();
    const loopAtStart = loopCpuUs();
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`autocannon failed (${code}): ${err}`));
      const r = JSON.parse(line) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
      const used = process.cpuUsage(cpuAtStart);
      const requests = Math.max(1, r.requests.total);
      resolve({ rps: r.requests.average, cpuUs: (used.user + used.system) / requests, loopUs: (loopCpuUs() - loopAtStart) / requests, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx });
    });
  });
}

/** Fixed-rate latency from bench/open-loop.mjs (steady schedule, timed from when each request was due). */
function openLoop(url: string, body: string, token: string | undefined): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [OPEN_LOOP, url, String(RATE), String(DURATION), body, ...(token ? [token] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`open-loop failed (${code}): ${err}`));
      const r = JSON.parse(line) as Run;
      resolve({ rps: r.rps, cpuUs: NaN, loopUs: NaN, p50: r.p50, p99: r.p99, errors: r.errors, non2xx: r.non2xx });
    });
  });
}

async function measure(url: string, body: unknown, token?: string): Promise<{ max: Run; fixed: Run }> {
  const text = JSON.stringify(body);
  await autocannon(url, text, token, ['-c', String(CONNECTIONS), '-d', String(WARMUP_SECONDS)]);
  const max = await autocannon(url, text, token, ['-c', String(CONNECTIONS), '-d', String(DURATION)]);
  const fixed = await openLoop(url, text, token);
  return { max, fixed };
}

/**
 * The baseline: a bare Fastify route that parses the same request body and answers the same
 * bytes a real block answer has (`response`, captured from the store once), so the ratio
 * measures what the store adds (auth, validation, the index, the message), not payload size.
 */
async function startBare(response: unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify({ logger: false });
  app.post('/bare', async (request) => {
    const input = request.body as { gate: string; subject: Record<string, string> };
    return { ...(response as object), gate: input.gate, subject: input.subject, checkedAt: new Date().toISOString() };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/bare`, close: () => app.close() };
}

/**
 * The disk's limit for a durable answer (see the header): the bare route plus one row committed
 * through GroupCommitter (the store's SQLite group commit) and synced as the store syncs, then
 * the same bytes as a warn answer (`response`).
 */
async function startDurableFloor(response: unknown, entryText: string, cleanups: (() => Promise<void>)[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-bench-floor-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'floor.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE entries (seq INTEGER PRIMARY KEY, entry_json TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO entries (seq, entry_json) VALUES (?, ?)');
  let seq = 0;
  db.exec('BEGIN IMMEDIATE');
  insert.run(seq++, entryText);
  db.exec('COMMIT');
  const wal = await open(`${path}-wal`, 'r+');
  // Checkpoints off the event loop, as the store's (wal-checkpointer.ts).
  const checkpointer: WalCheckpointer = new WalCheckpointer(db, { path, busyTimeoutMs: 5_000 }, (run) => committer.submitBetween(run), (message) => console.error(message));
  const committer = new GroupCommitter(db, () => undefined, () => wal.datasync(), () => checkpointer.committed());
  const app = Fastify({ logger: false });
  app.post('/durable', async (request) => {
    const input = request.body as { gate: string; subject: Record<string, string> };
    const at = await committer.submit(async () => {
      insert.run(seq, entryText);
      return seq++;
    });
    return { ...(response as object), gate: input.gate, subject: input.subject, checkedAt: new Date().toISOString(), seq: at };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(async () => {
    await app.close();
    await committer.idle();
    await checkpointer.close();
    await wal.close();
    db.close();
  });
  const address = app.server.address() as { port: number };
  return `http://127.0.0.1:${address.port}/durable`;
}

/**
 * Seed `count` active bypasses the way a user gets them: requests filed through the HTTP API
 * under the policy's standing scope (each activates on filing, so the store writes its
 * request_created and bypass_activated ledger entries, bound by the log key, and indexes the
 * bypass). Rows written behind the store's back would trip its start-up tamper check, which
 * halts the store and turns every warn into a block.
 */
async function seedBypasses(url: string, requesterToken: string, count: number): Promise<void> {
  let next = 0;
  const file = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const res = await fetch(`${url}/v1/requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${requesterToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ gate: 'ci-tests', scope: { repo: 'bench-svc', branch: `b-${i}` }, reason: 'bench: a seeded active bypass for the check index', severity: 'sev3', ttl: '24h' }),
      });
      const answer = (await res.json()) as { request?: { state?: string }; message?: string };
      if (res.status !== 201 || answer.request?.state !== 'active') {
        throw new Error(`seeding bypass ${i}: HTTP ${res.status}, state ${answer.request?.state ?? 'none'}: ${answer.message ?? JSON.stringify(answer).slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, file));
}

function fmt(run: Run): string {
  const bad = run.errors + run.non2xx > 0 ? `  (${run.errors} errors, ${run.non2xx} non-2xx!)` : '';
  const cpu = Number.isNaN(run.cpuUs) ? '' : `  cpu ${run.cpuUs.toFixed(1).padStart(5)} µs/req${Number.isNaN(run.loopUs) ? '' : ` (loop ${run.loopUs.toFixed(1).padStart(5)})`}`;
  return `${run.rps.toFixed(0).padStart(7)} req/s${cpu}  p50 ${run.p50.toFixed(2).padStart(6)} ms  p99 ${run.p99.toFixed(2).padStart(6)} ms${bad}`;
}

interface Target {
  name: string;
  url: string;
  body: unknown;
  token?: string;
  /** What the store must answer (checked before and after timing); absent for the baseline. */
  verdict?: 'block' | 'warn';
  /** Held to this target; absent: reported for information. */
  target?: { ratio: number; p99Ms: number };
  /** The ratio is to this scenario's requests/s (same round) instead of the bare route's. */
  relativeTo?: Target;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A grant store on its own data dir (and, on PostgreSQL, a fresh database), `bypasses` active
 * bypasses seeded through the API. It runs as in production (NODE_ENV=production): answers are
 * not checked against the contract's response schemas, a development aid the bare route lacks.
 */
async function startStore(bypasses: number, cleanups: (() => Promise<void>)[], backend: 'sqlite' | 'postgres' = POSTGRES ? 'postgres' : 'sqlite'): Promise<{ running: RunningGrantStore; gateToken: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-bench-checks-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  let databaseUrl: string | undefined;
  if (backend === 'postgres' && args['database-url']) {
    const db = await tempDatabase(args['database-url'], 'bg_bench');
    cleanups.push(db.drop);
    databaseUrl = db.url;
  }
  const { adminToken } = await initDataDir(dataDir, { databaseUrl });
  await writeFile(dataDirPaths(dataDir).policyPath, POLICY);
  const running = await startGrantStore({ dataDir, port: 0, databaseUrl, validateResponses: false });
  cleanups.push(() => running.close());
  const mint = async (principal: string, roles: string[]): Promise<string> => {
    const created = await fetch(`${running.url}/v1/admin/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ principal, roles }),
    });
    if (created.status !== 201 && created.status !== 200) throw new Error(`minting a token for ${principal}: HTTP ${created.status} ${await created.text()}`);
    return ((await created.json()) as { token: string }).token;
  };
  if (bypasses > 0) await seedBypasses(running.url, await mint('alice', ['requester']), bypasses);
  return { running, gateToken: await mint('ci-gate', ['gate']) };
}

/**
 * Ask once and insist on the verdict: a scenario that answers something else (a halted store
 * blocks every check; a bypass that never activated blocks too) would time the wrong path.
 */
async function assertVerdict(name: string, url: string, token: string, body: unknown, want: 'block' | 'warn'): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  let verdict: unknown;
  try {
    verdict = (JSON.parse(text) as { verdict?: unknown }).verdict;
  } catch {
    verdict = undefined;
  }
  if (res.status !== 200 || verdict !== want) {
    throw new Error(`scenario "${name}" must answer ${want} but answered HTTP ${res.status}, verdict ${String(verdict)}: ${text.slice(0, 500)}\n(refusing to time the wrong path)`);
  }
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const empty = await startStore(0, cleanups);
    const seededAt = Date.now();
    const full = await startStore(BYPASSES, cleanups);
    const seedMs = Date.now() - seededAt;
    // PostgreSQL's warn target is a ratio to SQLite's warn, timed in the same rounds.
    const sqliteFull = POSTGRES ? await startStore(BYPASSES, cleanups, 'sqlite') : undefined;
    const miss = { gate: 'ci-tests', subject: { repo: 'bench-svc', branch: 'not-bypassed' } };
    const hit = { gate: 'ci-tests', subject: { repo: 'bench-svc', branch: `b-${Math.floor(BYPASSES / 2)}` } };
    const sample = await fetch(`${empty.running.url}/v1/checks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${empty.gateToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(miss),
    });
    const bare = await startBare(await sample.json());
    cleanups.push(bare.close);
    const baseline: Target = { name: 'bare Fastify route (baseline)', url: bare.url, body: miss };
    const targets: Target[] = [
      { name: 'check, empty index (block)', url: `${empty.running.url}/v1/checks`, body: miss, token: empty.gateToken, verdict: 'block', target: BLOCK_TARGET },
      { name: `check, ${BYPASSES} bypasses (block)`, url: `${full.running.url}/v1/checks`, body: miss, token: full.gateToken, verdict: 'block', target: BLOCK_TARGET },
    ];
    const sqliteWarn: Target | undefined = sqliteFull
      ? { name: `SQLite check, ${BYPASSES} bypasses (warn+record)`, url: `${sqliteFull.running.url}/v1/checks`, body: hit, token: sqliteFull.gateToken, verdict: BYPASSES > 0 ? 'warn' : 'block' }
      : undefined;
    if (sqliteWarn) targets.push(sqliteWarn);
        if (!POSTGRES && BYPASSES > 0) {
      const warnSample = await fetch(`${full.running.url}/v1/checks`, { method: 'POST', headers: { authorization: `Bearer ${full.gateToken}`, 'content-type': 'application/json' }, body: JSON.stringify(hit) });
      const warnAnswer = (await warnSample.json()) as unknown;
      // The row: as many bytes as the warn's answer, about what its ledger entry holds.
      targets.push({ name: 'bare route + durable group commit', url: await startDurableFloor(warnAnswer, JSON.stringify(warnAnswer), cleanups), body: hit });
    }
    targets.push({ name: `check, ${BYPASSES} bypasses (warn+record)`, url: `${full.running.url}/v1/checks`, body: hit, token: full.gateToken, verdict: BYPASSES > 0 ? 'warn' : 'block', target: WARN_TARGET, relativeTo: sqliteWarn });
    const assertVerdicts = async (): Promise<void> => {
      for (const target of targets) if (target.verdict) await assertVerdict(target.name, target.url, target.token!, target.body, target.verdict);
    };
    await assertVerdicts();
    console.log(
      `check-throughput: backend ${args['database-url'] ? 'postgres' : 'sqlite'}, node ${process.version}; ${ROUNDS} interleaved rounds of ${DURATION}s per run; ` +
        `${CONNECTIONS} connections flat out, then ${RATE}/s fixed rate; ${BYPASSES} bypasses filed through the API and indexed in ${seedMs} ms; ` +
        `verdicts checked (${targets.flatMap((t) => t.verdict ?? []).join(', ')}); stores as in production (no response-schema check); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    );
    // Interleaved rounds: the machine's load drifts (other work on the same cores), so each
    // scenario's ratio is taken against the baseline measured in the same round, then the median.
    const results = new Map<Target, { max: Run; fixed: Run; ratio: number; cpuRatio: number }[]>();
    for (let round = 0; round < ROUNDS; round++) {
      const base = await measure(baseline.url, baseline.body);
      (results.get(baseline) ?? results.set(baseline, []).get(baseline)!).push({ ...base, ratio: 1, cpuRatio: 1 });
      for (const target of targets) {
        const r = await measure(target.url, target.body, target.token);
        // Against the baseline, or against the scenario it is held to (measured earlier in this round).
        const against = target.relativeTo ? results.get(target.relativeTo)![round]!.max : base.max;
        (results.get(target) ?? results.set(target, []).get(target)!).push({ ...r, ratio: r.max.rps / against.rps, cpuRatio: against.cpuUs / r.max.cpuUs });
      }
    }
    // A store that halted mid-run (its ledger guard blocks every check) timed the wrong path.
    await assertVerdicts();
    const summary = (runs: { max: Run; fixed: Run; ratio: number; cpuRatio: number }[]) => {
      const pick = (f: (x: { max: Run; fixed: Run }) => Run, k: keyof Run) => median(runs.map((x) => f(x)[k]));
      const run = (f: (x: { max: Run; fixed: Run }) => Run): Run => ({ rps: pick(f, 'rps'), cpuUs: pick(f, 'cpuUs'), loopUs: pick(f, 'loopUs'), p50: pick(f, 'p50'), p99: pick(f, 'p99'), errors: pick(f, 'errors'), non2xx: pick(f, 'non2xx') });
      return { max: run((x) => x.max), fixed: run((x) => x.fixed), ratio: median(runs.map((x) => x.ratio)), cpuRatio: median(runs.map((x) => x.cpuRatio)) };
    };
    console.log('\nmedians over the rounds (flat out: autocannon, latency resolution 1 ms, cpu = server CPU per request, cpu ratio = baseline cpu / scenario cpu; fixed rate: bench/open-loop.mjs, timed from each request\'s due time)');
    for (const target of [baseline, ...targets]) {
      const s = summary(results.get(target)!);
      const against = target.relativeTo ? ' of the SQLite warn' : '';
      console.log(`${target.name.padEnd(38)} max ${fmt(s.max)}  ratio ${s.ratio.toFixed(2)}${against} (cpu ${s.cpuRatio.toFixed(2)})\n${' '.repeat(39)}@${RATE}/s ${fmt(s.fixed)}`);
    }
    console.log('');
    for (const target of targets) {
      const s = summary(results.get(target)!);
      const goal = target.target;
      const ok = goal !== undefined && s.ratio >= goal.ratio && s.fixed.p99 <= goal.p99Ms && s.fixed.rps >= RATE * 0.95;
      const verdict = goal ? (ok ? 'PASS' : 'MISS') : 'info';
      const wanted = goal ? ` (target ≥ ${goal.ratio}${target.relativeTo ? ` of ${target.relativeTo.name}` : ''})` : '';
      const wantedP99 = goal ? ` (target ≤ ${goal.p99Ms} ms at ${RATE}/s)` : '';
      const runs = results.get(target)!;
      const spread = (values: number[], digits: number) => `${Math.min(...values).toFixed(digits)}/${median(values).toFixed(digits)}/${Math.max(...values).toFixed(digits)}`;
      console.log(
        `${verdict} ${target.name}: ratio ${s.ratio.toFixed(2)}${wanted} (min/median/max ${spread(runs.map((r) => r.ratio), 2)}); server CPU per request ratio ${s.cpuRatio.toFixed(2)}; ` +
          `p99 ${s.fixed.p99.toFixed(2)} ms at ${s.fixed.rps.toFixed(0)}/s${wantedP99} (min/median/max ${spread(runs.map((r) => r.fixed.p99), 1)} ms)`,
      );
    }
    const floor = targets.find((t) => t.url.endsWith('/durable'));
    const warn = targets.find((t) => t.target === WARN_TARGET);
    if (floor && warn) {
      const ratios = results.get(warn)!.map((r, i) => r.max.rps / results.get(floor)![i]!.max.rps);
      const cpu = summary(results.get(warn)!).max.cpuUs - summary(results.get(floor)!).max.cpuUs;
      const loop = summary(results.get(warn)!).max.loopUs - summary(results.get(floor)!).max.loopUs;
      console.log(
        `info warn / ${floor.name} (same rounds): min/median/max ${Math.min(...ratios).toFixed(2)}/${median(ratios).toFixed(2)}/${Math.max(...ratios).toFixed(2)}; ` +
          `the store's own server CPU per warn above it ${cpu.toFixed(1)} µs${Number.isNaN(loop) ? '' : ` (on the event loop's thread ${loop.toFixed(1)} µs)`}`,
      );
    }
    console.log(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => console.error(`cleanup: ${error.message}`));
  }
}

await main();
