import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createPgPool } from '../../../../grant-store/storage/postgres/connection';
import { PgStore } from '../../../../grant-store/storage/postgres/pg-store';
import { keepStatistics, readStatisticsState } from '../../../../grant-store/storage/postgres/table-statistics';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';
import { createTempDatabase, type TempDatabase } from '../pg-temp-database';

/**
 * A store opened on a database whose ledger was never analyzed (restored, copied, or on a server
 * with autovacuum off, as this test server is in CI) gets planner statistics before it serves,
 * so an empty recent audit window is read from the time index, not by scanning the ledger.
 */

let db: TempDatabase;
let client: pg.Client;

before(async () => {
  db = await createTempDatabase('bg_table_stats');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
after(async () => {
  await client?.end();
  await db?.drop();
});

async function analyzed(table: string): Promise<boolean> {
  return (await client.query('SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1 LIMIT 1', [table])).rowCount! > 0;
}

test('a ledger with rows and no statistics is analyzed when the store opens; the recent-window read then plans on the time index', async () => {
  // Grow the ledger on a store. Its tables were empty when it opened, so they have no
  // statistics now (and any the server took meanwhile are wiped: a copied database has none).
  const first = await PgStore.open({ databaseUrl: db.url });
  const time = '2026-01-01T00:00:00.000Z';
  for (let batch = 0; batch < 10; batch++) await first.transaction((tx) => tx.appendLedger(Array.from({ length: 500 }, (_, i) => ledgerEntry({ type: 'evaluation_under_bypass', target: `req_${batch}_${i}`, time }))));
  await first.close();
  await client.query("DELETE FROM pg_statistic WHERE starelid = 'ledger_entries'::regclass");
  assert.equal(await analyzed('ledger_entries'), false);
  const before = await readStatisticsState(createPgPoolOnce());
  const storeWouldAnalyze = !before.autovacuum || before.missing.includes('ledger_entries');
  assert.ok(storeWouldAnalyze, `a ledger with 5,000 rows and no statistics is one the store analyzes (state: ${JSON.stringify(before)})`);

  const store = await PgStore.open({ databaseUrl: db.url });
  try {
    assert.ok(await analyzed('ledger_entries'), 'the ledger has planner statistics once the store is open');
    // An empty window after the last entry: answered from ledger_entries_time, not a scan.
    const plan = (await client.query("EXPLAIN SELECT MIN(seq + 0) AS first, MAX(seq + 0) AS last FROM ledger_entries WHERE time >= '2026-06-01T00:00:00.000Z'")).rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /ledger_entries_time/, plan);
    assert.doesNotMatch(plan, /Seq Scan/, plan);
  } finally {
    await store.close();
  }
});

test('with autovacuum off the operator is told, once at open, that the store keeps the statistics itself', async () => {
  const pool = createPgPoolOnce();
  const state = await readStatisticsState(pool);
  const warnings: string[] = [];
  const keeper = await keepStatistics(pool, { warn: (m) => warnings.push(m) });
  await keeper.stop();
  if (state.autovacuum) assert.deepEqual(warnings, [], 'no warning when the server keeps the statistics');
  else {
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /autovacuum is off/);
  }
});

let pool: pg.Pool | undefined;
function createPgPoolOnce(): pg.Pool {
  pool ??= createPgPool(db.url, 1);
  return pool;
}
after(async () => {
  await pool?.end();
});
