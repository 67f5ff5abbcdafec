/**
 * bench/check-throughput: how fast the grant store answers gate checks, against a bare Fastify
 * route measured in the same run on the same machine (the ratio is what matters; absolute
 * numbers depend on the box).
 *
 *   node --import tsx bench/check-throughput.ts [--duration 4] [--rounds 3] [--connections 10]
 *                        [--rate 2000] [--bypasses 10000] [--database-url postgres://…]
 *
 * Scenarios: the bare route (baseline); POST /v1/checks with an empty index; with 10,000
 * active bypasses in the index and a subject none covers (block: answered from memory); with
 * the same index and a covered subject (warn: one transaction to record the evaluation). Each
 * is driven flat out by autocannon in a child process (so load generator and server get a core
 * each) for requests/s and the ratio, then at a fixed rate (default 2,000 checks/s) by
 * bench/open-loop.mjs for the latency target (autocannon's own rate limit sends bursts), in
 * interleaved rounds with the baseline so that load drift on a shared machine cancels out.
 * Target (issue 6): block ratio ≥ 0.7 and p99 ≤ 5 ms at 2,000 checks/s.
 * With --database-url, each store runs on a fresh database created on that server and dropped after.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import { initDataDir } from '../grant-store/admin/init';
import { dataDirPaths } from '../grant-store/admin/data-dir';
import { startGrantStore, type RunningGrantStore } from '../grant-store/http/server';
import { PgStore } from '../grant-store/storage/postgres/pg-store';
import { SqliteStore } from '../grant-store/storage/sqlite/sqlite-store';
import type { Store } from '../grant-store/storage/store';
import type { BypassRequest } from '../shared/domain/request';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AUTOCANNON = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
const OPEN_LOOP = join(ROOT, 'bench', 'open-loop.mjs');
/** Issue 6 targets. */
const TARGET_RATIO = 0.7;
const TARGET_P99_MS = 5;
/** Let the JIT and the connection pools settle before each measured run. */
const WARMUP_SECONDS = 2;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rate: { type: 'string', default: '2000' },
    bypasses: { type: 'string', default: '10000' },
    'database-url': { type: 'string' },
  },
});
const DURATION = Number(args.duration);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const RATE = Number(args.rate);
const BYPASSES = Number(args.bypasses);

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
`;

interface Run {
  rps: number;
  /** Server CPU (user + system) per answered request, µs: this process serves every route. */
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function autocannon(url: string, body: string, token: string | undefined, extra: string[]): Promise<Run> {
  const headers = ['-H', 'content-type=application/json', ...(token ? ['-H', `authorization=Bearer ${token}`] : [])];
  const argv = [AUTOCANNON, '-j', '-m', 'POST', '-b', body, ...headers, ...extra, url];
  return new Promise((resolve, reject) => {
    // The servers all run in this process and the load generator in a child, so this
    // process's CPU time per request is what the server spends on it, however busy the
    // machine (a steadier comparison than req/s on shared cores).
    const cpuAtStart = process.cpuUsage();
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
      resolve({ rps: r.requests.average, cpuUs: (used.user + used.system) / Math.max(1, r.requests.total), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx });
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
      resolve({ rps: r.rps, cpuUs: NaN, p50: r.p50, p99: r.p99, errors: r.errors, non2xx: r.non2xx });
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

async function seedBypasses(store: Store, count: number): Promise<void> {
  const now = new Date();
  const at = now.toISOString();
  const expiresAt = new Date(now.getTime() + 24 * 3_600_000).toISOString();
  const BATCH = 1000;
  for (let start = 0; start < count; start += BATCH) {
    await store.transaction(async (tx) => {
      for (let i = start; i < Math.min(count, start + BATCH); i++) {
        const id = `req_${randomBytes(12).toString('hex')}`;
        const request: BypassRequest = {
          id,
          requester: 'alice',
          team: 'payments',
          gate: 'ci-tests',
          scope: { repo: `svc-${i}`, branch: 'main' },
          reason: 'bench: a seeded active bypass for the check index',
          incidentRef: 'INC-1',
          severity: 'sev3',
          ttl: '24h',
          extends: null,
          createdAt: at,
          digest: `sha256:${'0'.repeat(64)}`,
          state: 'active',
          tier: 'low',
          gateKind: 'slow',
          approvalsRequired: 1,
          approvals: [{ approver: 'bob', keyId: 'bench', hardwareBacked: false, ttl: '24h', comment: 'bench', at }],
          messages: [],
          standingScope: null,
          bypassId: `byp_${randomBytes(12).toString('hex')}`,
          approvedTtl: '24h',
          activatedAt: at,
          expiresAt,
          closedAt: null,
          lapsesAt: null,
          updatedAt: at,
          closeComment: null,
          closedBy: null,
        };
        await tx.insertRequest(request);
      }
    });
  }
}

function fmt(run: Run): string {
  const bad = run.errors + run.non2xx > 0 ? `  (${run.errors} errors, ${run.non2xx} non-2xx!)` : '';
  const cpu = Number.isNaN(run.cpuUs) ? '' : `  cpu ${run.cpuUs.toFixed(1).padStart(5)} µs/req`;
  return `${run.rps.toFixed(0).padStart(7)} req/s${cpu}  p50 ${run.p50.toFixed(2).padStart(6)} ms  p99 ${run.p99.toFixed(2).padStart(6)} ms${bad}`;
}

interface Target {
  name: string;
  url: string;
  body: unknown;
  token?: string;
  /** Held to the issue-6 target (the block path); the warn path is reported for information. */
  targeted: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A fresh database on the --database-url server (dropped by the returned function). */
async function tempDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bg_bench_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A grant store on its own data dir (and database), `bypasses` active bypasses seeded before it starts. */
async function startStore(bypasses: number, cleanups: (() => Promise<void>)[]): Promise<{ running: RunningGrantStore; gateToken: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-bench-checks-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  let databaseUrl: string | undefined;
  if (args['database-url']) {
    const db = await tempDatabase(args['database-url']);
    cleanups.push(db.drop);
    databaseUrl = db.url;
  }
  const { adminToken } = await initDataDir(dataDir, { databaseUrl });
  await writeFile(dataDirPaths(dataDir).policyPath, POLICY);
  if (bypasses > 0) {
    const store: Store = databaseUrl ? await PgStore.open({ databaseUrl }) : SqliteStore.open(dataDirPaths(dataDir).databasePath);
    await seedBypasses(store, bypasses);
    await store.close();
  }
  const running = await startGrantStore({ dataDir, port: 0, databaseUrl });
  cleanups.push(() => running.close());
  const created = await fetch(`${running.url}/v1/admin/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ principal: 'ci-gate', roles: ['gate'] }),
  });
  return { running, gateToken: ((await created.json()) as { token: string }).token };
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const empty = await startStore(0, cleanups);
    const seededAt = Date.now();
    const full = await startStore(BYPASSES, cleanups);
    const seedMs = Date.now() - seededAt;
    const miss = { gate: 'ci-tests', subject: { repo: 'svc-not-bypassed', branch: 'main' } };
    const hit = { gate: 'ci-tests', subject: { repo: 'svc-4242', branch: 'main' } };
    const sample = await fetch(`${empty.running.url}/v1/checks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${empty.gateToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(miss),
    });
    const bare = await startBare(await sample.json());
    cleanups.push(bare.close);
    const baseline: Target = { name: 'bare Fastify route (baseline)', url: bare.url, body: miss, targeted: false };
    const targets: Target[] = [
      { name: 'check, empty index (block)', url: `${empty.running.url}/v1/checks`, body: miss, token: empty.gateToken, targeted: true },
      { name: `check, ${BYPASSES} bypasses (block)`, url: `${full.running.url}/v1/checks`, body: miss, token: full.gateToken, targeted: true },
      { name: `check, ${BYPASSES} bypasses (warn+record)`, url: `${full.running.url}/v1/checks`, body: hit, token: full.gateToken, targeted: false },
    ];
    console.log(
      `check-throughput: backend ${args['database-url'] ? 'postgres' : 'sqlite'}, node ${process.version}; ${ROUNDS} interleaved rounds of ${DURATION}s per run; ` +
        `${CONNECTIONS} connections flat out, then ${RATE}/s fixed rate; ${BYPASSES} bypasses seeded and indexed in ${seedMs} ms`,
    );
    // Interleaved rounds: the machine's load drifts (other work on the same cores), so each
    // scenario's ratio is taken against the baseline measured in the same round, then the median.
    const results = new Map<Target, { max: Run; fixed: Run; ratio: number; cpuRatio: number }[]>();
    for (let round = 0; round < ROUNDS; round++) {
      const base = await measure(baseline.url, baseline.body);
      (results.get(baseline) ?? results.set(baseline, []).get(baseline)!).push({ ...base, ratio: 1, cpuRatio: 1 });
      for (const target of targets) {
        const r = await measure(target.url, target.body, target.token);
        (results.get(target) ?? results.set(target, []).get(target)!).push({ ...r, ratio: r.max.rps / base.max.rps, cpuRatio: base.max.cpuUs / r.max.cpuUs });
      }
    }
    const summary = (runs: { max: Run; fixed: Run; ratio: number; cpuRatio: number }[]) => {
      const pick = (f: (x: { max: Run; fixed: Run }) => Run, k: keyof Run) => median(runs.map((x) => f(x)[k]));
      const run = (f: (x: { max: Run; fixed: Run }) => Run): Run => ({ rps: pick(f, 'rps'), cpuUs: pick(f, 'cpuUs'), p50: pick(f, 'p50'), p99: pick(f, 'p99'), errors: pick(f, 'errors'), non2xx: pick(f, 'non2xx') });
      return { max: run((x) => x.max), fixed: run((x) => x.fixed), ratio: median(runs.map((x) => x.ratio)), cpuRatio: median(runs.map((x) => x.cpuRatio)) };
    };
    console.log('\nmedians over the rounds (flat out: autocannon, latency resolution 1 ms, cpu = server CPU per request, cpu ratio = baseline cpu / scenario cpu; fixed rate: bench/open-loop.mjs, timed from each request\'s due time)');
    for (const target of [baseline, ...targets]) {
      const s = summary(results.get(target)!);
      console.log(`${target.name.padEnd(38)} max ${fmt(s.max)}  ratio ${s.ratio.toFixed(2)} (cpu ${s.cpuRatio.toFixed(2)})\n${' '.repeat(39)}@${RATE}/s ${fmt(s.fixed)}`);
    }
    console.log('');
    for (const target of targets) {
      const s = summary(results.get(target)!);
      const ok = s.ratio >= TARGET_RATIO && s.fixed.p99 <= TARGET_P99_MS && s.fixed.rps >= RATE * 0.95;
      const verdict = target.targeted ? (ok ? 'PASS' : 'MISS') : 'info';
      console.log(`${verdict} ${target.name}: ratio ${s.ratio.toFixed(2)} (target ≥ ${TARGET_RATIO}; server CPU per request ratio ${s.cpuRatio.toFixed(2)}), p99 ${s.fixed.p99.toFixed(2)} ms at ${s.fixed.rps.toFixed(0)}/s (target ≤ ${TARGET_P99_MS} ms at ${RATE}/s)`);
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => console.error(`cleanup: ${error.message}`));
  }
}

await main();
