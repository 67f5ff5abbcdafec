import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { migrate } from '../../../../grant-store/storage/postgres/migrate';
import { MIGRATIONS } from '../../../../grant-store/storage/postgres/migrations';
import { createTempDatabase, type TempDatabase } from '../pg-temp-database';

describe('Postgres migrations', () => {
  let db: TempDatabase;
  let client: pg.Client;

  before(async () => {
    db = await createTempDatabase('bg_migrate');
  });
  after(async () => {
    await client?.end();
    await db.drop();
  });

  test('several instances migrating at once apply each version exactly once', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(db.url)));
    const all = MIGRATIONS.map((m) => m.version);
    const applied = results.flatMap((r) => r.applied).sort((a, b) => a - b);
    assert.deepEqual(applied, all, 'every version applied once in total');
    assert.equal(results.filter((r) => r.applied.length > 0).length, 1, 'by one instance');
    for (const r of results) assert.equal(r.current, Math.max(...all));
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const rows = (await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows;
    assert.deepEqual(rows.map((r) => r.version), all);
  });

  test('running it again is a no-op', async () => {
    const again = await migrate(db.url);
    assert.deepEqual(again.applied, []);
  });

  test('every ledger table refuses UPDATE, DELETE and TRUNCATE; the head never moves back', async () => {
    await client.query(`INSERT INTO ledger_entries (seq, time, type, target, entry_json, leaf_hash) VALUES (0, 't', 'x', 'y', '{}', decode(repeat('00', 32), 'hex'))`);
    await client.query(`INSERT INTO ledger_nodes (level, idx, hash) VALUES (0, 0, decode(repeat('00', 32), 'hex'))`);
    await client.query(`INSERT INTO ledger_checkpoints (tree_size, root_hash, note, signed_at) VALUES (1, decode(repeat('00', 32), 'hex'), 'n', 't')`);
    const checkpointId = (await client.query<{ id: string }>('SELECT id FROM ledger_checkpoints')).rows[0]!.id;
    await client.query(`INSERT INTO ledger_cosignatures (checkpoint_id, tree_size, witness, cosigned_at, line, received_at, source) VALUES ($1, 1, 'w', 0, 'l', 't', 'push')`, [checkpointId]);
    const someColumn = { ledger_entries: 'type', ledger_nodes: 'hash', ledger_checkpoints: 'note', ledger_cosignatures: 'line' };
    for (const [table, column] of Object.entries(someColumn)) {
      await assert.rejects(client.query(`UPDATE ${table} SET ${column} = ${column}`), /append-only/);
      await assert.rejects(client.query(`DELETE FROM ${table}`), /append-only/);
      // CASCADE: a plain TRUNCATE of a table that cosignatures reference stops at the foreign key
      // before any trigger runs; with CASCADE only the append-only triggers stand in the way.
      await assert.rejects(client.query(`TRUNCATE ${table} CASCADE`), /append-only/);
    }
    assert.equal((await client.query('SELECT count(*)::int AS n FROM ledger_cosignatures')).rows[0].n, 1);
    await client.query('UPDATE ledger_head SET next_seq = 5');
    await assert.rejects(client.query('UPDATE ledger_head SET next_seq = 4'), /only moves forward/);
    await assert.rejects(client.query('DELETE FROM ledger_head'), /append-only/);
  });
});
