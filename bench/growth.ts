/**
 * bench/growth: do the store's reads stay flat as the ledger grows? Builds ONE store through the
 * HTTP API (the way CI traffic does: one request per 100 entries, filed under a standing scope so
 * it activates at once, then 98 gate checks answered warn under it, each a ledger entry) to each
 * size in turn, and at each size times, against the same server process:
 *
 *   GET /v1/reports/gates, GET /metrics, GET /v1/reports/health (the console),
 *   GET /v1/audit for the last 60 s, the audit's first page (?limit=100), the full audit export
 *   (jsonl, streamed; server peak RSS during it), GET /v1/notifications (the requester's feed).
 *
 * Each operation runs --rounds times per size (min / median / max). The ratio is the largest
 * size's median over the smallest's (target ≤ 1.5 for all but the export; the export must
 * succeed at 1M with server peak RSS ≤ 400 MB). Prints the load average with every size.
 *
 *   node --import tsx bench/growth.ts [--sizes 10000,100000,1000000] [--rounds 5]
 *                                     [--concurrency 16] [--database-url postgres://…]
 *
 * 1M entries take a while to build (990k checks through HTTP); pass --sizes 10000,100000 for a
 * quick run. The server runs in a child process (bench/growth-server.ts) so its RSS is its own.
 */
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pool, startCiTrafficStore, type BenchServer } from './support/bench-store';

const TARGET_RATIO = 1.5;
const TARGET_EXPORT_RSS_MB = 400;
/** Entries per request unit: request_created + bypass_activated + 98 warns. */
const UNIT = 100;

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    'database-url': { type: 'string' },
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

/** Run `task(i)` for i in [0, n) with `limit` in flight. */
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
      if (filed.status !== 201 && filed.status !== 200) throw new Error(`file request: HTTP ${filed.status}`);
      await pool(UNIT - 2, Math.max(1, Math.floor(CONCURRENCY / batch)), async () => {
        const r = await call(`${server.url}/v1/checks`, tokens.gate, { method: 'POST', body: { gate: 'ci-tests', subject: { repo: 'payments-api', branch } } });
        if (r.status !== 200) throw new Error(`check: HTTP ${r.status}`);
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

/** When the current size finished building (ms since the epoch): the empty audit window starts after it. */
let builtAt = 0;

const OPS: Op[] = [
  { name: 'GET /v1/reports/gates', path: () => '/v1/reports/gates', who: 'auditor', flat: true },
  { name: 'GET /metrics', path: () => '/metrics', who: 'auditor', flat: true },
  { name: 'GET /v1/reports/health', path: () => '/v1/reports/health', who: 'auditor', flat: true },
  // The issue's case is a recent window holding no rows. Right after a build the last 60 s hold
  // most of a small store (10k builds in well under a minute), which would time an export of
  // thousands of rows instead: the window starts no earlier than the end of the build.
  { name: 'GET /v1/audit last 60 s (0 rows)', path: () => `/v1/audit?format=json&from=${new Date(Math.max(Date.now() - 60_000, builtAt)).toISOString()}`, who: 'auditor', flat: true },
  { name: 'GET /v1/audit first page (100)', path: () => '/v1/audit?format=json&limit=100', who: 'auditor', flat: true },
  { name: 'GET /v1/notifications', path: () => '/v1/notifications', who: 'alice', flat: true },
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

async function measure(server: BenchServer, tokens: Record<'auditor' | 'alice', string>, rounds: number): Promise<{ cells: Map<string, Cell>; exportPeakMb: number; rssAfterMb: number }> {
  const cells = new Map<string, Cell>();
  let exportPeakMb = 0;
  for (const op of OPS) {
    const times: number[] = [];
    let status = 0;
    let bytes = 0;
    const n = op.flat ? rounds : Math.min(rounds, 2);
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

const fmtMs = (c: Cell) => `${c.min.toFixed(0)}/${c.median.toFixed(0)}/${c.max.toFixed(0)}${c.status === 200 ? '' : ` HTTP ${c.status}`}`;

async function main(): Promise<void> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const dataDir = await mkdtemp(join(tmpdir(), 'bg-bench-growth-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const { server, adminToken, databaseUrl } = await startCiTrafficStore(dataDir, { adminDatabaseUrl: args['database-url'], databasePrefix: 'bg_growth', what: 'growth server' }, cleanups);
    const tokens = {
      alice: await token(server, adminToken, 'alice', ['requester']),
      gate: await token(server, adminToken, 'ci-gate', ['gate']),
      auditor: await token(server, adminToken, 'audrey', ['auditor']),
    };
    console.log(`growth: backend ${databaseUrl ? 'postgres' : 'sqlite'}, node ${process.version}, sizes ${SIZES.join(', ')}, ${ROUNDS} rounds per operation (min/median/max ms)`);
    const results: { size: number; cells: Map<string, Cell>; exportPeakMb: number; rssAfterMb: number; load: number[] }[] = [];
    for (const size of SIZES) {
      const t0 = Date.now();
      await growTo(server, tokens, size);
      builtAt = Date.now() + 1;
      const buildS = (Date.now() - t0) / 1000;
      const m = await measure(server, tokens, ROUNDS);
      const load = loadavg();
      results.push({ size, ...m, load });
      const exportCell = m.cells.get('GET /v1/audit full export (jsonl)')!;
      console.log(`  ${size} entries (built in ${buildS.toFixed(0)} s): load average ${load.map((l) => l.toFixed(2)).join(' ')}; export ${(exportCell.bytes / 1e6).toFixed(1)} MB, server peak RSS during export ${m.exportPeakMb.toFixed(0)} MB, RSS after the reads ${m.rssAfterMb.toFixed(0)} MB`);
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
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => console.error(`cleanup: ${error.message}`));
  }
}

await main();
