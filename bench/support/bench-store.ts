// What the benches that build a real store share: the CI-traffic policy (a standing scope, so
// every request activates as CI would make it), the store process they grow through the HTTP
// API (bench/growth-server.ts), and a throwaway PostgreSQL database.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { dataDirPaths } from '../../grant-store/admin/data-dir';
import { initDataDir } from '../../grant-store/admin/init';
import { waitForReadyLine } from '../../test/support/ready-line';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = join(ROOT, 'bench', 'growth-server.ts');

/** One gate, one approver, and a standing scope for payments-api: a request is active when filed. */
export const CI_TRAFFIC_POLICY = `version: 1
ttlChoices: [1h, 24h, 7d]
decisionWindow: 24h
tiers:
  low:
    approvals: 1
    approverGroups: [leads]
    maxTtl: 7d
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
  - id: payments-ci
    gate: ci-tests
    team: payments
    scope: { repo: payments-api }
    maxTtl: 7d
    approvedBy: [bob]
    validUntil: "2099-12-31"
    reason: CI reruns of the payments suite are pre-approved (bench)
`;

export interface BenchServer {
  url: string;
  pid: number;
  child: ChildProcess;
  /** The last few KB the store wrote to stderr (its log), for a failure's message. */
  logTail: () => string;
}

/** The store in its own process (bench/growth-server.ts), so its CPU and memory are its own. */
export async function startBenchServer(dataDir: string, databaseUrl: string | undefined, what: string, timeoutMs = 60_000): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, dataDir, ...(databaseUrl ? [databaseUrl] : [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let errText = '';
  child.stderr!.on('data', (c: Buffer) => (errText = (errText + c.toString()).slice(-4000)));
  const line = await waitForReadyLine(child, { what, timeoutMs, accept: (l) => l.includes('"url"'), diagnostics: () => `\n${errText}` });
  const { url, pid } = JSON.parse(line) as { url: string; pid: number };
  return { url, pid, child, logTail: () => errText };
}

/**
 * A data dir with the CI-traffic policy and its store process running: on a throwaway database
 * when `adminDatabaseUrl` is given (SQLite in `dataDir` otherwise). Undoing it (the process
 * stopped, the database dropped) is pushed onto `cleanups`, to run newest first.
 */
export async function startCiTrafficStore(
  dataDir: string,
  opts: { adminDatabaseUrl?: string; databasePrefix: string; what: string },
  cleanups: (() => Promise<void>)[],
): Promise<{ server: BenchServer; adminToken: string; databaseUrl: string | undefined }> {
  let databaseUrl: string | undefined;
  if (opts.adminDatabaseUrl) {
    const db = await tempDatabase(opts.adminDatabaseUrl, opts.databasePrefix);
    cleanups.push(db.drop);
    databaseUrl = db.url;
  }
  const { adminToken } = await initDataDir(dataDir, { databaseUrl });
  await writeFile(dataDirPaths(dataDir).policyPath, CI_TRAFFIC_POLICY);
  const server = await startBenchServer(dataDir, databaseUrl, opts.what);
  cleanups.push(async () => {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
  });
  return { server, adminToken, databaseUrl };
}

/** A fresh database on the server `adminUrl` points at, and how to drop it. */
export async function tempDatabase(adminUrl: string, prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
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

/** Run task(0..n-1) with at most `limit` in flight. */
export async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}
