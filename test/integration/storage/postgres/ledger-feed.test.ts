import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { PgStore } from '../../../../grant-store/storage/postgres/pg-store';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';
import { createTempDatabase, type TempDatabase } from '../pg-temp-database';

/** The feed's reconnect backoff starts at 100 ms and the safety poll runs every 2 s. */
const CATCH_UP_DEADLINE_MS = 5_000;

let db: TempDatabase;
let reader: PgStore;
let writer: PgStore;

before(async () => {
  db = await createTempDatabase('bg_feed');
  reader = await PgStore.open({ databaseUrl: db.url, log: () => undefined });
  writer = await PgStore.open({ databaseUrl: db.url, log: () => undefined });
});
after(async () => {
  await reader?.close();
  await writer?.close();
  await db?.drop();
});

const entry = (target: string): NewLedgerEntry => ledgerEntry({ type: 'request_created', actor: 'alice', actorRole: 'requester', target, gate: 'ci-tests' });

async function until(condition: () => boolean, ms = CATCH_UP_DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

test('entries committed while the LISTEN connection is down are delivered once it reconnects, in order, once each', async () => {
  const seen: number[] = [];
  reader.onLedgerAppended((entries) => seen.push(...entries.map((e) => e.seq)));
  await writer.transaction((tx) => tx.appendLedger([entry('before')]));
  await until(() => seen.length === 1);
  assert.deepEqual(seen, [0]);

  // Cut every LISTEN connection on this database (what a failover or a proxy timeout does).
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    const killed = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'");
    assert.ok(killed.rowCount! >= 2, 'both stores were listening');
  } finally {
    await admin.end();
  }
  // Written while the reader is deaf: its NOTIFYs are lost for good.
  for (let i = 0; i < 5; i++) await writer.transaction((tx) => tx.appendLedger([entry(`during-${i}`), entry(`during-${i}b`)]));
  await until(() => seen.length === 11);
  assert.deepEqual(seen, Array.from({ length: 11 }, (_, i) => i));

  // Both stores listen again (a new connection, not just the safety poll)...
  const check = new pg.Client({ connectionString: db.url });
  await check.connect();
  try {
    let listening = 0;
    const deadline = Date.now() + CATCH_UP_DEADLINE_MS;
    while (listening < 2 && Date.now() < deadline) {
      listening = Number((await check.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'")).rows[0]!.n);
      if (listening < 2) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(listening, 2);
  } finally {
    await check.end();
  }
  // ...so a new commit arrives at once, well before the 2 s safety poll could find it.
  const started = Date.now();
  await writer.transaction((tx) => tx.appendLedger([entry('after')]));
  await until(() => seen.length === 12, 1_500);
  assert.deepEqual(seen.at(-1), 11);
  assert.ok(Date.now() - started < 1_500);
});

test('own commits reach the local listeners before the transaction resolves, and with another instance committing in between every entry arrives once, in seq order', async () => {
  const mine: number[] = [];
  const theirs: number[] = [];
  writer.onLedgerAppended((entries) => mine.push(...entries.map((e) => e.seq)));
  reader.onLedgerAppended((entries) => theirs.push(...entries.map((e) => e.seq)));
  await writer.syncLedger();
  await reader.syncLedger();
  const start = (await writer.ledgerSize()) - 1;
  mine.length = 0;
  theirs.length = 0;
  // Read-your-writes: when the writer's transaction resolves, its own listeners have the entries.
  const own = await writer.transaction((tx) => tx.appendLedger([entry('own-1'), entry('own-2')]));
  assert.deepEqual(mine, own.map((e) => e.seq));
  // Both instances append at once, each its own commits and the other's (read from the table).
  await Promise.all(
    Array.from({ length: 40 }, (_, i) => (i % 2 ? writer : reader).transaction(async (tx) => {
      const [appended] = await tx.appendLedger([entry(`race-${i}`)]);
      return appended;
    })),
  );
  const expected = Array.from({ length: 42 }, (_, i) => start + 1 + i);
  await until(() => mine.length >= 42 && theirs.length >= 42);
  assert.deepEqual(mine, expected, 'the writer saw every entry once, in seq order');
  assert.deepEqual(theirs, expected, 'the reader saw every entry once, in seq order');
});
