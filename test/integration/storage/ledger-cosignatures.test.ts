import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PgStore } from '../../../grant-store/storage/postgres/pg-store';
import { SqliteStore } from '../../../grant-store/storage/sqlite/sqlite-store';
import type { StoredCosignature } from '../../../grant-store/storage/log-tables';
import type { Store } from '../../../grant-store/storage/store';
import { createTempDatabase } from './pg-temp-database';

/**
 * ledger_cosignatures on both backends: kept once per witness and checkpoint, read back in
 * order, and append-only in the database itself (UPDATE and DELETE rejected by triggers).
 */
async function exercise(store: Store, rawWrite: (sql: string) => Promise<unknown>): Promise<void> {
  const tables = await store.openLogTables();
  await tables.persist(new Map(), { size: 0, root: new Uint8Array(32), note: 'origin\n0\nAAAA\n\n— origin AAAA\n', signedAt: '2026-11-30T00:00:00.000Z' });
  const cp = tables.latestCheckpoint()!;
  const base: StoredCosignature = { checkpointId: cp.id, treeSize: 0, witness: 'w.test/a', cosignedAt: 1_800_000_000, line: '— w.test/a AAAA', receivedAt: '2026-11-30T00:00:01.000Z', source: 'push' };
  assert.equal(await tables.addCosignature(base), true);
  assert.equal(await tables.addCosignature({ ...base, line: '— w.test/a BBBB', cosignedAt: 1_800_000_001 }), false, 'one per witness and checkpoint');
  assert.equal(await tables.addCosignature({ ...base, witness: 'w.test/b', line: '— w.test/b CCCC', source: 'submitted' }), true);
  const kept = await tables.cosignatures(cp.id);
  assert.deepEqual(kept.map((c) => [c.witness, c.line, c.source, c.cosignedAt, c.treeSize]), [
    ['w.test/a', '— w.test/a AAAA', 'push', 1_800_000_000, 0],
    ['w.test/b', '— w.test/b CCCC', 'submitted', 1_800_000_000, 0],
  ]);
  assert.equal(kept[0]!.checkpointId, Number(cp.id));
  await assert.rejects(rawWrite("UPDATE ledger_cosignatures SET line = 'x'"), /ledger_cosignatures is append-only/);
  await assert.rejects(rawWrite('DELETE FROM ledger_cosignatures'), /ledger_cosignatures is append-only/);
  assert.equal((await tables.cosignatures(cp.id)).length, 2);
}

describe('ledger_cosignatures storage', { concurrency: false }, async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'bg-cosig-'));
  after(() => rm(tmp, { recursive: true, force: true }));

  test('SQLite', async () => {
    const path = join(tmp, 'breakglass.db');
    const store = SqliteStore.open(path);
    const raw = new Database(path);
    try {
      await exercise(store, async (sql) => raw.prepare(sql).run());
    } finally {
      raw.close();
      await store.close();
    }
  });

  test('PostgreSQL', async () => {
    const db = await createTempDatabase('bg_cosig');
    const store = await PgStore.open({ databaseUrl: db.url });
    const raw = new pg.Client({ connectionString: db.url });
    await raw.connect();
    try {
      await exercise(store, (sql) => raw.query(sql));
    } finally {
      await raw.end();
      await store.close();
      await db.drop();
    }
  });
});
