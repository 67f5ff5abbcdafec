import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIGRATIONS as POSTGRES } from '../../../../grant-store/storage/postgres/migrations';
import { MIGRATIONS as SQLITE } from '../../../../grant-store/storage/sqlite/migrations';

// Both backends hold the same data, so they step through the same schema versions: a
// migration added to one and forgotten in the other fails here, before any database is opened.
test('the SQLite and PostgreSQL migrations carry the same versions, numbered 1..n without a gap', () => {
  const sqlite = SQLITE.map((m) => m.version);
  const postgres = POSTGRES.map((m) => m.version);
  assert.deepEqual(sqlite, postgres);
  assert.deepEqual(sqlite, Array.from({ length: sqlite.length }, (_, i) => i + 1));
});

test('the transparency log tables are created by a numbered SQLite migration (not by the log on open)', () => {
  const logTables = SQLITE.find((m) => m.sql.includes('CREATE TABLE IF NOT EXISTS ledger_nodes'));
  assert.ok(logTables, 'no SQLite migration creates ledger_nodes');
  assert.match(logTables.sql, /CREATE TABLE IF NOT EXISTS ledger_checkpoints/);
});
