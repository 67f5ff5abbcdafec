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
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createTempDatabase(prefix = 'bg_test'): Promise<TempDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(TEST_PG_URL, name),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        // WITH (FORCE) ends connections a crashed test left behind (PostgreSQL 13+).
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
