import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A fresh, uniquely named PostgreSQL database per test run, dropped afterwards. A database (not
 * a schema) so LISTEN/NOTIFY channels and advisory locks, which are per database, cannot cross
 * between tests running at the same time.
 */

/** The server the tests use: CI starts one on 127.0.0.1:5432 (.ci/run). */
export const TEST_PG_URL = process.env.BREAKGLASS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TempDatabase {
  url: string;
  name: string;
  /** Run one statement in this database, on a connection of its own (a change behind the store's back). */
  sql(text: string, params?: unknown[]): Promise<void>;
  drop(): Promise<void>;
}

/** One statement on a connection of its own to `url`, opened and closed around it. */
export async function runSql(url: string, text: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text, params);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createTempDatabase(prefix = 'bg_test'): Promise<TempDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await runSql(TEST_PG_URL, `CREATE DATABASE ${name}`);
  const url = withDatabase(TEST_PG_URL, name);
  return {
    name,
    url,
    sql: (text, params = []) => runSql(url, text, params),
    // WITH (FORCE) ends connections a crashed test left behind (PostgreSQL 13+).
    drop: () => runSql(TEST_PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
