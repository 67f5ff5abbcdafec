import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '../../../shared/domain/common';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import { initDataDir } from '../../../grant-store/admin/init';
import { startGrantStore, type RunningGrantStore } from '../../../grant-store/http/server';
import { TestClock } from '../../support/grant-store-fixture';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { runCli, type CliResult } from '../cli/cli-harness';

/**
 * Issue 15's end-to-end harness: real grant stores (in this process, so the tests move their
 * injected clock instead of waiting out TTLs and schedules) on SQLite or on a fresh PostgreSQL
 * database, driven through the real `breakglass` CLI; a webhook receiver on 127.0.0.1.
 */

export type Backend = 'sqlite' | 'postgres';
/** Parsed JSON bodies, read field by field in the assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

export interface Issue15Store {
  backend: Backend;
  url: string;
  adminToken: string;
  clock: TestClock;
  tmp: string;
  tokens: Record<string, string>;
  /** Run the CLI as a principal (its token and this store). */
  as(who: string, args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** Call the HTTP API directly (setup and checks the CLI does not show). */
  call(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: Buffer; headers?: Record<string, string> }): Promise<{ status: number; json: Json; text: string }>;
  ledger(): Promise<LedgerEntry[]>;
  /** Another instance on the same database (PostgreSQL only), sharing the clock. */
  secondInstance(): Promise<RunningGrantStore & { dataDir: string }>;
  close(): Promise<void>;
}

/** How often the digest scheduler looks at the (injected) clock in these tests. */
export const TEST_DIGEST_CHECK_MS = 100;

export interface StartOptions {
  /** Where the store's clock starts (the vendors' payloads carry their own dates): it then runs on from there. */
  clockAt?: string;
}

export async function startIssue15Store(backend: Backend, policyYaml: string, people: [string, Role[]][], opts: StartOptions = {}): Promise<Issue15Store> {
  const tmp = await mkdtemp(join(tmpdir(), `bg-issue15-${backend}-`));
  const dataDir = join(tmp, 'data');
  let db: TempDatabase | undefined;
  if (backend === 'postgres') db = await createTempDatabase('bg_issue15');
  const { adminToken, policyPath } = await initDataDir(dataDir, db ? { databaseUrl: db.url } : {});
  await writeFile(policyPath, policyYaml);
  const clock = new TestClock();
  if (opts.clockAt) clock.offsetMs = Date.parse(opts.clockAt) - Date.now();
  const extra: (RunningGrantStore & { dataDir: string })[] = [];
  let store: RunningGrantStore;
  try {
    store = await startGrantStore({ dataDir, port: 0, clock: clock.now, sweepIntervalMs: 50, databaseUrl: db?.url, digestCheckIntervalMs: TEST_DIGEST_CHECK_MS });
  } catch (error) {
    await db?.drop();
    throw error;
  }
  const url = store.url;
  const call: Issue15Store['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let payload: string | Buffer | undefined = o.raw;
    if (payload === undefined && o.body !== undefined) payload = JSON.stringify(o.body);
    if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const response = await fetch(url + path, { method, headers, body: payload });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  };
  const tokens: Record<string, string> = { admin: adminToken };
  for (const [principal, roles] of people) {
    const r = await call('POST', '/v1/admin/tokens', { token: adminToken, body: { principal, roles } });
    assert.equal(r.status, 201, r.text);
    tokens[principal] = r.json.token;
  }
  const stateDir = join(tmp, 'cli-state');
  await mkdir(stateDir, { recursive: true });
  return {
    backend,
    url,
    adminToken,
    clock,
    tmp,
    tokens,
    as: (who, args, env = {}) => runCli(args, { BREAKGLASS_STORE: url, BREAKGLASS_TOKEN: tokens[who], HOME: stateDir, XDG_STATE_HOME: stateDir, XDG_CONFIG_HOME: stateDir, ...env }),
    call,
    async ledger() {
      const out: LedgerEntry[] = [];
      for (;;) {
        const r = await call('GET', `/v1/ledger/entries?from=${out.length}&limit=1000`, { token: adminToken });
        assert.equal(r.status, 200, r.text);
        out.push(...(r.json.entries as LedgerEntry[]));
        if (out.length >= r.json.treeSize || r.json.entries.length === 0) return out;
      }
    },
    async secondInstance() {
      assert.ok(db, 'a second instance needs PostgreSQL');
      const dir = join(tmp, `data-${extra.length + 2}`);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await copyFile(policyPath, join(dir, 'policy.yaml'));
      await copyFile(join(dataDir, 'log-key.pem'), join(dir, 'log-key.pem'));
      // The log's name beside its key, as docs/scaling.md says: without it the instance refuses to start.
      if (existsSync(join(dataDir, 'log-origin'))) await copyFile(join(dataDir, 'log-origin'), join(dir, 'log-origin'));
      const other = await startGrantStore({ dataDir: dir, port: 0, clock: clock.now, sweepIntervalMs: 50, databaseUrl: db.url, digestCheckIntervalMs: TEST_DIGEST_CHECK_MS });
      const running = Object.assign(other, { dataDir: dir });
      extra.push(running);
      return running;
    },
    async close() {
      for (const s of extra) await s.close();
      await store.close();
      await db?.drop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** A webhook receiver on 127.0.0.1 that keeps every delivery (body parsed as JSON). */
export interface Receiver {
  url: string;
  deliveries: { path: string; headers: Record<string, string | string[] | undefined>; body: Json }[];
  /** Resolves once a delivery matches (polls; fails after `timeoutMs`). */
  waitFor(what: string, match: (d: Receiver['deliveries'][number]) => boolean, timeoutMs?: number): Promise<Receiver['deliveries'][number]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const deliveries: Receiver['deliveries'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        // Kept as text: the assertion that reads it says what was expected.
      }
      deliveries.push({ path: req.url ?? '', headers: req.headers, body: parsed });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    deliveries,
    async waitFor(what, match, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = deliveries.find(match);
        if (found) return found;
        if (Date.now() > until) throw new Error(`no delivery of ${what} within ${timeoutMs} ms; got: ${JSON.stringify(deliveries.map((d) => [d.path, d.body?.event ?? d.body?.text]))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export function json<T = Json>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

export function expectExit(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

/** Poll until `fn` returns a value (the sweeper and the dispatcher run on timers). */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
