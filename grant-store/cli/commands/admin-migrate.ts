import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../../shared/errors';
import type { CliContext } from '../context';
import { withExamples } from '../help';

/** File name of the embedded database inside the data dir (BRIEF.md: data dir layout). */
const SQLITE_FILE = 'breakglass.db';
/** Wait this long for a running store's write lock instead of failing at once. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * `admin migrate`: bring a database schema up to date without starting the store. Postgres
 * with --database-url / BREAKGLASS_DATABASE_URL, otherwise the data dir's SQLite file. (The
 * store also migrates on start; this is for upgrades done ahead of a rollout.)
 */
export function registerAdminMigrate(admin: Command, ctx: CliContext): void {
  withExamples(
    admin
      .command('migrate')
      .description("apply pending schema migrations: Postgres with --database-url, otherwise the data dir's SQLite database")
      .option('--database-url <url>', 'postgres://user@host:5432/db (env BREAKGLASS_DATABASE_URL)'),
    'breakglass admin migrate --data-dir /var/lib/breakglass',
    'breakglass admin migrate --database-url postgres://breakglass@db.internal:5432/breakglass',
  ).action(async (flags: { databaseUrl?: string }, cmd: Command) => {
    const databaseUrl = flags.databaseUrl ?? (ctx.env.BREAKGLASS_DATABASE_URL || undefined);
    if (databaseUrl) {
      if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
        throw new AppError('invalid_input', `invalid --database-url: "${databaseUrl}" is not a postgres:// URL`, { fieldErrors: [{ path: '--database-url', message: 'must be a postgres:// URL' }] });
      }
      const { migrate: migratePostgres } = await import('../../storage/postgres/migrate');
      const result = await migratePostgres(databaseUrl);
      ctx.emit(cmd, { backend: 'postgres', ...result }, () =>
        result.applied.length > 0 ? `Applied Postgres migrations ${result.applied.join(', ')}; schema version ${result.current}.\n` : `Postgres schema already current (version ${result.current}).\n`,
      );
      return;
    }
    const { dataDir } = ctx.globals(cmd);
    if (!existsSync(join(dataDir, 'policy.yaml'))) {
      throw new AppError('invalid_input', `${dataDir} is not a breakglass data dir (no policy.yaml): run \`breakglass admin init --data-dir ${dataDir}\` first`, {
        fieldErrors: [{ path: '--data-dir', message: 'not an initialised data dir' }],
      });
    }
    // Loaded on demand so other verbs start fast.
    const { default: Database } = await import('better-sqlite3');
    const { migrate: migrateSqlite } = await import('../../storage/sqlite/migrations');
    const db = new Database(join(dataDir, SQLITE_FILE));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      const applied = migrateSqlite(db, () => new Date().toISOString());
      const current = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
      ctx.emit(cmd, { backend: 'sqlite', applied, current }, () =>
        applied > 0 ? `Applied ${applied} SQLite migration(s) in ${dataDir}; schema version ${current}.\n` : `SQLite schema in ${dataDir} already current (version ${current}).\n`,
      );
    } finally {
      db.close();
    }
  });
}
