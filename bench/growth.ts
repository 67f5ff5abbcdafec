/**
 * bench/growth: do the store's reads stay flat as the ledger grows? Builds ONE store through the
 * HTTP API (the way CI traffic does: one request per 100 entries, filed under a standing scope so
 * it activates at once, then 98 gate checks answered warn under it, each a ledger entry) to each
 * size in turn, and at each size times, against the same server process:
 *
 *   GET /v1/reports/gates, GET /metrics, GET /v1/reports/health (the console),
 *   GET /v1/audit for the last 60 s, the audit's first page (?limit=100), the full audit export
 *   (jsonl, streamed; server peak RSS during it), GET /v1/notifications?limit=100 (the requester's feed).
 *
 * Each operation runs --rounds times per size (min / median / max). The ratio is the largest
 * size's median over the smallest's (target ≤ 1.5 for all but the export; the export must
 * succeed at 1M with server peak RSS ≤ 400 MB). Prints the load average with every size.
 *
 *   node --import tsx bench/growth.ts [--sizes 10000,100000,1000000] [--rounds 5]
 *                                     [--concurrency 16] [--database-url postgres://…]
 *                                     [--store-dir DIR]
 *
 * The store is built size after size; after each size the server is stopped and the store kept
 * as a snapshot (the data dir, and with --database-url a PostgreSQL database copied with CREATE
 * DATABASE … TEMPLATE). Each size is then measured on a fresh server started on a copy of its
 * snapshot, so a build and a reuse time the same thing and the snapshot is never written to.
 *
 * 1M entries take a while to build (990k checks through HTTP, ~25 min on 2 cores): with
 * --store-dir DIR the snapshots are kept in DIR (PostgreSQL: databases bg_growth_keep_<size>_…
 * named in DIR/manifest.json) and later runs reuse them, building only the sizes DIR lacks (from
 * its largest smaller snapshot). A DIR built with other parameters (entries per request, policy,
 * backend) is refused. Without --store-dir the snapshots live in a temporary dir, removed at the
 * end. The server runs in a child process (bench/growth-server.ts) so its RSS is its own.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { dataDirPaths } from '../grant-store/admin/data-dir';
import { initDataDir } from '../grant-store/admin/init';
import { CI_TRAFFIC_POLICY, pool, startBenchServer, type BenchServer } from './support/bench-store';

const TARGET_RATIO = 1.5;
const TARGET_EXPORT_RSS_MB = 400;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'breakglass.cjs');
const BUILT = join(ROOT, 'dist', 'cli', 'main.mjs');
/** Entries per request unit: request_created + bypass_activated + 98 warns. */
const UNIT = 100;

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    'database-url': { type: 'string' },
    'store-dir': { type: 'string' },
  },
});
const SIZES = args.sizes.split(',').map(Number);
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);

/** The server's resident set now and its peak since the last reset (VmRSS / VmHWM, MB). */
async function rss(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Reset the peak-RSS mark (Linux: writing 5 to clear_refs). */
async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

async function call(url: string, token: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; bytes: number; json?: unknown }> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  // Read the body as a stream and count it (the export can be hundreds of MB).
  let bytes = 0;
  const chunks: Buffer[] = [];
  const keep = (res.headers.get('content-type') ?? '').includes('application/json') && init.method === 'POST';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    if (keep) chunks.push(Buffer.from(chunk));
  }
  return { status: res.status, bytes, ...(keep ? { json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown } : {}) };
}

async function token(server: BenchServer, adminToken: string, principal: string, roles: string[]): Promise<string> {
  const r = await call(`${server.url}/v1/admin/tokens`, adminToken, { method: 'POST', body: { principal, roles } });
  if (r.status !== 201 && r.status !== 200) throw new Error(`token for ${principal}: HTTP ${r.status}`);
  return (r.json as { token: string }).token;
}

/** Request units filed so far in the store being built (each unit's branch is b-<its index>). */
let units = 0;
/** File requests and check under them until the ledger holds about `target` entries. */
async function growTo(server: BenchServer, tokens: { alice: string; gate: string }, target: number): Promise<void> {
  const want = Math.floor(target / UNIT);
  const started = Date.now();
  while (units < want) {
    const batch = Math.min(want - units, 8);
    const first = units;
    units += batch;
    // Each unit: one request (2 entries), then 98 warns under it; units run side by side.
    await pool(batch, batch, async (k) => {
      const branch = `b-${first + k}`;
      const filed = await call(`${server.url}/v1/requests`, tokens.alice, {
        method: 'POST',
        body: { gate: 'ci-tests', scope: { repo: 'payments-api', branch }, reason: 'CI rerun of the payments suite (growth bench)', severity: 'sev3', ttl: '7d' },
      });
      if (filed.status !== 201 && filed.status !== 200) throw new Error(`file request: HTTP ${filed.status} ${JSON.stringify(filed.json)}`);
      await pool(UNIT - 2, Math.max(1, Math.floor(CONCURRENCY / batch)), async () => {
        const r = await call(`${server.url}/v1/checks`, tokens.gate, { method: 'POST', body: { gate: 'ci-tests', subject: { repo: 'payments-api', branch } } });
        if (r.status !== 200) throw new Error(`check: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      });
    });
    if (units % 200 < 8) process.stderr.write(`\r  building: ${units * UNIT} entries (${((units * UNIT) / Math.max(1, (Date.now() - started) / 1000)).toFixed(0)} entries/s this size)   `);
  }
  process.stderr.write('\n');
}

interface Op {
  name: string;
  path: () => string;
  who: 'auditor' | 'alice';
  /** Held to the flat-read target (the export is held to memory instead). */
  flat: boolean;
}

/** When the measured server was ready (ms since the epoch): the empty audit window starts after it. */
let builtAt = 0;

const OPS: Op[] = [
  { name: 'GET /v1/reports/gates', path: () => '/v1/reports/gates', who: 'auditor', flat: true },
  { name: 'GET /metrics', path: () => '/metrics', who: 'auditor', flat: true },
  { name: 'GET /v1/reports/health', path: () => '/v1/reports/health', who: 'auditor', flat: true },
  // The issue's case is a recent window holding no rows. Right after a build the last 60 s hold
  // most of a small store (10k builds in well under a minute), which would time an export of
  // thousands of rows instead: the window starts no earlier than the measured server's start
  // (after its tokens were minted).
  { name: 'GET /v1/audit last 60 s (0 rows)', path: () => `/v1/audit?format=json&from=${new Date(Math.max(Date.now() - 60_000, builtAt)).toISOString()}`, who: 'auditor', flat: true },
  { name: 'GET /v1/audit first page (100)', path: () => '/v1/audit?format=json&limit=100', who: 'auditor', flat: true },
  // The requester's feed with as many answers at every size: alice has one notification per
  // request (100 at 10k); the default limit (200) would compare 100 answers with 200.
  { name: 'GET /v1/notifications?limit=100', path: () => '/v1/notifications?limit=100', who: 'alice', flat: true },
  { name: 'GET /v1/audit full export (jsonl)', path: () => '/v1/audit?format=jsonl', who: 'auditor', flat: false },
];

interface Cell {
  min: number;
  median: number;
  max: number;
  status: number;
  bytes: number;
}

function stats(ms: number[], status: number, bytes: number): Cell {
  const s = [...ms].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]!, status, bytes };
}

/** Rounds of a whole export (store or CLI): hundreds of MB at 1M entries, so fewer than the flat reads. */
const exportRounds = (rounds: number) => Math.min(rounds, 2);

async function measure(server: BenchServer, tokens: Record<'auditor' | 'alice', string>, rounds: number): Promise<{ cells: Map<string, Cell>; exportPeakMb: number; rssAfterMb: number }> {
  const cells = new Map<string, Cell>();
  let exportPeakMb = 0;
  for (const op of OPS) {
    const times: number[] = [];
    let status = 0;
    let bytes = 0;
    const n = op.flat ? rounds : exportRounds(rounds);
    if (!op.flat) await resetPeak(server.pid);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = await call(`${server.url}${op.path()}`, tokens[op.who]);
      times.push(performance.now() - t0);
      status = r.status === 200 ? status || 200 : r.status;
      bytes = r.bytes;
    }
    if (!op.flat) exportPeakMb = (await rss(server.pid)).peak;
    cells.set(op.name, stats(times, status, bytes));
  }
  return { cells, exportPeakMb, rssAfterMb: (await rss(server.pid)).now };
}

/** The auditor's exports through the shipped CLI, timed with their peak RSS. */
const CLI_EXPORTS: { name: string; args: (dir: string) => string[] }[] = [
  { name: 'breakglass audit --format jsonl', args: () => ['audit', '--format', 'jsonl'] },
  { name: 'breakglass ledger export --out DIR', args: (dir) => ['ledger', 'export', '--out', join(dir, 'export')] },
];

interface CliRun {
  seconds: number;
  peakMb: number;
  ok: boolean;
}

/** A CLI export's rounds: wall time (min/median/max, as ms), the largest peak RSS, whether every round succeeded. */
interface CliCell {
  time: Cell;
  peakMb: number;
  ok: boolean;
}

/** One CLI export in its own process (stdout to /dev/null), its wall time and peak RSS (/usr/bin/time %M). */
async function cliExport(server: BenchServer, auditorToken: string, args: string[]): Promise<CliRun> {
  const child = spawn('/usr/bin/time', ['-f', 'BENCH_MAXRSS_KB=%M', process.execPath, CLI, ...args], {
    env: { ...process.env, BREAKGLASS_STORE: server.url, BREAKGLASS_TOKEN: auditorToken },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - t0) / 1000;
  const kb = Number(/BENCH_MAXRSS_KB=(\d+)/.exec(stderr)?.[1] ?? NaN);
  if (code !== 0) process.stderr.write(`  breakglass ${args.join(' ')} failed (exit ${code}):\n${stderr}\n`);
  return { seconds, peakMb: kb / 1024, ok: code === 0 };
}

async function measureCli(server: BenchServer, auditorToken: string, rounds: number): Promise<Map<string, CliCell>> {
  const cells = new Map<string, CliCell>();
  for (const op of CLI_EXPORTS) {
    const runs: CliRun[] = [];
    for (let i = 0; i < exportRounds(rounds); i++) {
      const dir = await mkdtemp(join(tmpdir(), 'bg-bench-growth-cli-'));
      try {
        runs.push(await cliExport(server, auditorToken, op.args(dir)));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const ok = runs.every((r) => r.ok);
    cells.set(op.name, { time: stats(runs.map((r) => r.seconds * 1000), ok ? 200 : 0, 0), peakMb: Math.max(...runs.map((r) => r.peakMb)), ok });
  }
  return cells;
}

const fmtCli = (c: CliCell) => `${c.ok ? '' : 'FAILED '}${[c.time.min, c.time.median, c.time.max].map((ms) => (ms / 1000).toFixed(1)).join('/')} s ${c.peakMb.toFixed(0)} MB`;

const fmtMs = (c: Cell) => `${c.min.toFixed(0)}/${c.median.toFixed(0)}/${c.max.toFixed(0)}${c.status === 200 ? '' : ` HTTP ${c.status}`}`;

/** What a store dir's snapshots were built with: a dir built otherwise is refused. */
interface BuildParams {
  format: 1;
  entriesPerRequest: number;
  policySha256: string;
  /** 'sqlite', or the PostgreSQL server (host:port) the snapshot databases live on. */
  backend: string;
}

interface Snapshot {
  /** Request units filed (entries ≈ units × UNIT plus the tokens and policy entries). */
  units: number;
  adminToken: string;
  /** The snapshot's database on `backend` (PostgreSQL only). */
  database?: string;
  buildSeconds: number;
}

interface Manifest {
  params: BuildParams;
  snapshots: Record<string, Snapshot>;
}

const ADMIN_URL = args['database-url'];
const PARAMS: BuildParams = {
  format: 1,
  entriesPerRequest: UNIT,
  policySha256: createHash('sha256').update(CI_TRAFFIC_POLICY).digest('hex'),
  backend: ADMIN_URL ? `postgres ${new URL(ADMIN_URL).host}` : 'sqlite',
};
/** A 1M store takes a while to open (start-up checks, a migration's index build). */
const SERVER_START_TIMEOUT_MS = 15 * 60_000;

async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { params: PARAMS, snapshots: {} };
    throw error;
  }
  const manifest = JSON.parse(text) as Manifest;
  const theirs = JSON.stringify(manifest.params);
  if (theirs !== JSON.stringify(PARAMS)) {
    throw new Error(`--store-dir ${dir} was built with other parameters (${theirs}); this run builds with ${JSON.stringify(PARAMS)}: use another directory`);
  }
  return manifest;
}

async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFile(join(dir, 'manifest.json.tmp'), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(join(dir, 'manifest.json.tmp'), join(dir, 'manifest.json'));
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function databaseUrlOf(database: string | undefined): string | undefined {
  if (!database) return undefined;
  const u = new URL(ADMIN_URL!);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A copy of a stopped store: its data dir, and its database (PostgreSQL copies it server-side). */
async function copyStore(fromDir: string, fromDatabase: string | undefined, toDir: string, toDatabase: string | undefined): Promise<void> {
  await cp(fromDir, toDir, { recursive: true });
  if (fromDatabase && toDatabase) await adminQuery(`CREATE DATABASE ${toDatabase} TEMPLATE ${fromDatabase}`);
}

async function stopServer(server: BenchServer): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/** Build the sizes `dir` lacks, each grown from the largest smaller snapshot (or a fresh store). */
async function buildSnapshots(dir: string, manifest: Manifest, sizes: readonly number[], cleanups: (() => Promise<void>)[]): Promise<void> {
  for (const size of [...sizes].sort((a, b) => a - b)) {
    if (manifest.snapshots[size]) continue;
    const base = Object.keys(manifest.snapshots).map(Number).filter((s) => s < size).sort((a, b) => b - a)[0];
    const buildDir = join(dir, 'build');
    await rm(buildDir, { recursive: true, force: true });
    const database = ADMIN_URL ? `bg_growth_keep_${size}_${randomBytes(4).toString('hex')}` : undefined;
    let adminToken: string;
    if (base !== undefined) {
      const from = manifest.snapshots[base]!;
      await copyStore(join(dir, `size-${base}`), from.database, buildDir, database);
      units = from.units;
      adminToken = from.adminToken;
    } else {
      if (database) await adminQuery(`CREATE DATABASE ${database}`);
      ({ adminToken } = await initDataDir(buildDir, { databaseUrl: databaseUrlOf(database) }));
      await writeFile(dataDirPaths(buildDir).policyPath, CI_TRAFFIC_POLICY);
      units = 0;
    }
    const drop = async () => {
      if (database && !manifest.snapshots[size]) await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    };
    cleanups.push(drop);
    console.log(`  building ${size} entries${base !== undefined ? ` from the ${base} snapshot` : ''} in ${buildDir}`);
    const server = await startBenchServer(buildDir, databaseUrlOf(database), 'growth build server', SERVER_START_TIMEOUT_MS);
    const t0 = Date.now();
    try {
      const tokens = { alice: await token(server, adminToken, 'alice', ['requester']), gate: await token(server, adminToken, 'ci-gate', ['gate']) };
      await growTo(server, tokens, size);
    } catch (error) {
      throw new Error(`building ${size} entries: ${(error as Error).message}\nthe store's log ends:\n${server.logTail()}`);
    } finally {
      await stopServer(server);
    }
    const buildSeconds = (Date.now() - t0) / 1000 + (base !== undefined ? manifest.snapshots[base]!.buildSeconds : 0);
    await rename(buildDir, join(dir, `size-${size}`));
    manifest.snapshots[size] = { units, adminToken, ...(database ? { database } : {}), buildSeconds };
    await writeManifest(dir, manifest);
  }
}

async function main(): Promise<void> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build:cli\` first (the bench runs the built CLI's exports)`);
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const keep = args['store-dir'];
    const storeDir = keep ?? (await mkdtemp(join(tmpdir(), 'bg-bench-growth-')));
    if (keep) await mkdir(keep, { recursive: true });
    const manifest = await readManifest(storeDir);
    if (!keep) {
      cleanups.push(async () => {
        for (const s of Object.values(manifest.snapshots)) if (s.database) await adminQuery(`DROP DATABASE IF EXISTS ${s.database} WITH (FORCE)`);
        await rm(storeDir, { recursive: true, force: true });
      });
    }
    console.log(`growth: backend ${PARAMS.backend}, node ${process.version}, sizes ${SIZES.join(', ')}, ${ROUNDS} rounds per operation (min/median/max ms), store dir ${storeDir}${keep ? ` (kept; built: ${Object.keys(manifest.snapshots).join(', ') || 'none'})` : ''}`);
    await buildSnapshots(storeDir, manifest, SIZES, cleanups);

    const results: { size: number; cells: Map<string, Cell>; exportPeakMb: number; rssAfterMb: number; cli: Map<string, CliCell>; load: number[] }[] = [];
    for (const size of SIZES) {
      const snap = manifest.snapshots[size]!;
      const workDir = await mkdtemp(join(tmpdir(), 'bg-bench-growth-run-'));
      const database = snap.database ? `bg_growth_run_${randomBytes(4).toString('hex')}` : undefined;
      try {
        await rm(workDir, { recursive: true });
        await copyStore(join(storeDir, `size-${size}`), snap.database, workDir, database);
        const t0 = Date.now();
        const server = await startBenchServer(workDir, databaseUrlOf(database), 'growth server', SERVER_START_TIMEOUT_MS);
        const startS = (Date.now() - t0) / 1000;
        try {
          const tokens = { alice: await token(server, snap.adminToken, 'alice', ['requester']), auditor: await token(server, snap.adminToken, 'audrey', ['auditor']) };
          builtAt = Date.now() + 1;
          const m = await measure(server, tokens, ROUNDS);
          const cli = await measureCli(server, tokens.auditor, ROUNDS);
          const load = loadavg();
          results.push({ size, ...m, cli, load });
          const exportCell = m.cells.get('GET /v1/audit full export (jsonl)')!;
          console.log(`  ${size} entries (built in ${snap.buildSeconds.toFixed(0)} s, server started in ${startS.toFixed(1)} s): load average ${load.map((l) => l.toFixed(2)).join(' ')}; export ${(exportCell.bytes / 1e6).toFixed(1)} MB, server peak RSS during export ${m.exportPeakMb.toFixed(0)} MB, RSS after the reads ${m.rssAfterMb.toFixed(0)} MB`);
        } finally {
          await stopServer(server);
        }
      } finally {
        await rm(workDir, { recursive: true, force: true });
        if (database) await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }
    }
    const first = results[0]!;
    const last = results[results.length - 1]!;
    console.log(`\n${'operation'.padEnd(36)}${results.map((r) => String(r.size).padStart(18)).join('')}   ratio ${last.size}/${first.size} (medians)`);
    for (const op of OPS) {
      const ratio = last.cells.get(op.name)!.median / first.cells.get(op.name)!.median;
      const verdict = op.flat ? (ratio <= TARGET_RATIO && last.cells.get(op.name)!.status === 200 ? 'PASS' : 'MISS') : 'info';
      console.log(`${op.name.padEnd(36)}${results.map((r) => fmtMs(r.cells.get(op.name)!).padStart(18)).join('')}   ${ratio.toFixed(2)} ${verdict}`);
    }
    const exportOk = last.cells.get('GET /v1/audit full export (jsonl)')!.status === 200 && last.exportPeakMb <= TARGET_EXPORT_RSS_MB;
    console.log(`${exportOk ? 'PASS' : 'MISS'} full export at ${last.size}: HTTP ${last.cells.get('GET /v1/audit full export (jsonl)')!.status}, server peak RSS ${last.exportPeakMb.toFixed(0)} MB (target ≤ ${TARGET_EXPORT_RSS_MB} MB)`);
    console.log(`${last.rssAfterMb <= TARGET_EXPORT_RSS_MB ? 'PASS' : 'MISS'} server RSS after all reads at ${last.size}: ${last.rssAfterMb.toFixed(0)} MB (target ≤ ${TARGET_EXPORT_RSS_MB} MB)`);
    console.log(`\n${'CLI export (min/median/max s, peak MB)'.padEnd(36)}${results.map((r) => String(r.size).padStart(24)).join('')}   ratio ${last.size}/${first.size} (median time)`);
    for (const op of CLI_EXPORTS) {
      const at = last.cli.get(op.name)!;
      const ratio = at.time.median / first.cli.get(op.name)!.time.median;
      console.log(`${op.name.padEnd(36)}${results.map((r) => fmtCli(r.cli.get(op.name)!).padStart(24)).join('')}   ${ratio.toFixed(2)}, ${at.ok && at.peakMb <= TARGET_EXPORT_RSS_MB ? 'PASS' : 'MISS'} (peak RSS ≤ ${TARGET_EXPORT_RSS_MB} MB at ${last.size})`);
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => console.error(`cleanup: ${error.message}`));
  }
}

await main();
