import type pg from 'pg';
import { createPgPool } from './connection';
import { MIGRATIONS, type Migration } from './migrations';

/**
 * Versioned schema migrations. Applied on every start (and by `breakglass admin migrate`)
 * under a session advisory lock, so several instances starting together apply each version
 * exactly once: the first takes the lock and migrates, the others wait and then find nothing
 * left to do.
 */

/** Advisory lock key for migrations ("brkglass" in ASCII, as a signed 64-bit integer). */
const MIGRATION_LOCK_KEY = '7093878184617702259';

export interface MigrationResult {
  /** Versions applied by this call (empty when the schema was already current). */
  applied: number[];
  /** Highest version now in the database. */
  current: number;
}

export async function applyMigrations(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    // Waiting for another instance's migration (and running a long one) must not hit the
    // pool's statement timeout.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const applied: number[] = [];
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await migration.after?.(client);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(migration.version);
      }
      const current = (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
      return { applied, current };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    // The session setting would follow this connection back into the pool: drop it.
    client.release(true);
  }
}

/** `breakglass admin migrate --database-url URL`: bring the schema up to date, then disconnect. */
export async function migrate(databaseUrl: string): Promise<MigrationResult> {
  const pool = createPgPool(databaseUrl, 1);
  try {
    return await applyMigrations(pool);
  } finally {
    await pool.end();
  }
}
