import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../../grant-store/storage/sqlite/sqlite-store';
import { CHECKPOINT_EVERY_COMMITS } from '../../../../grant-store/storage/sqlite/wal-checkpointer';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';

test('the WAL checkpointer thread keeps the WAL bounded under steady commits (the writer never checkpoints), and every entry reaches the database file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-wal-checkpointer-'));
  const path = join(dir, 'breakglass.db');
  const store = SqliteStore.open(path);
  // Commit until the WAL file has not grown for this many rounds (several checkpoint cycles; the
  // thread starts at the first cycle, and the WAL grows until it is up): a WAL nobody checkpoints
  // grows with every commit.
  const steadyRounds = 4 * CHECKPOINT_EVERY_COMMITS;
  const maxRounds = 40 * CHECKPOINT_EVERY_COMMITS;
  let rounds = 0;
  try {
    let walBytes = 0;
    let grewAt = 0;
    while (rounds - grewAt < steadyRounds && rounds < maxRounds) {
      // Two commits in flight at once, as under load: batches pipeline with their syncs.
      await Promise.all([0, 1].map((k) => store.transaction((tx) => tx.appendLedger([ledgerEntry({ time: '2026-06-22T03:14:07.000Z', type: 'policy_loaded', target: `t${rounds}-${k}`, data: { padding: 'x'.repeat(2000) } })]))));
      rounds++;
      const size = (await stat(`${path}-wal`)).size;
      if (size > walBytes) [walBytes, grewAt] = [size, rounds];
    }
    assert.ok(rounds < maxRounds, `the WAL still grew after ${rounds} rounds of commits (${walBytes} bytes): nothing checkpoints it`);
    assert.equal((await store.getLedgerEntries(0, 100_000)).length, rounds * 2);
  } finally {
    await store.close();
  }
  // After close everything is in the database file, and the store reopens with every entry.
  const db = new Database(path, { readonly: true });
  try {
    assert.equal((db.prepare('SELECT COUNT(*) AS c FROM ledger_entries').get() as { c: number }).c, rounds * 2);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the writer does not checkpoint on its own (wal_autocheckpoint 0): that is the worker thread\'s job', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-wal-checkpointer-'));
  const store = SqliteStore.open(join(dir, 'breakglass.db'));
  try {
    const writer = (store as unknown as { writer: Database.Database }).writer;
    assert.equal(writer.pragma('wal_autocheckpoint', { simple: true }), 0);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('closing the store while a checkpoint pass is still in the worker waits for the worker to exit (the process does not end with close() pending)', () => {
  const fixture = fileURLToPath(new URL('../../../fixtures/storage/close-during-checkpoint.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.stdout, 'closed\n', `close() never resolved (exit ${child.status}): ${child.stderr}`);
  assert.equal(child.status, 0);
});
