import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { GroupCommitter, MAX_SYNCS_IN_FLIGHT } from '../../../../grant-store/storage/sqlite/group-commit';

/** A sync the test releases by hand (stands in for the WAL fdatasync). */
function manualSync() {
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  return {
    calls: () => pending.length,
    sync: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
    release: (i: number) => pending[i]!.resolve(),
    fail: (i: number, error: Error) => pending[i]!.reject(error),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('off-loop durability: callers are answered (and listeners told) only after a sync that began after their commit, in commit order; syncs overlap up to MAX_SYNCS_IN_FLIGHT', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-group-commit-'));
  const db = new Database(join(dir, 'db'));
  try {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (n INTEGER)');
    const told: number[][] = [];
    const s = manualSync();
    const gc = new GroupCommitter(db, (results) => told.push(results as number[]), s.sync);
    const insert = (n: number) => gc.submit(async () => {
      db.prepare('INSERT INTO t VALUES (?)').run(n);
      return n;
    });
    assert.equal(MAX_SYNCS_IN_FLIGHT, 3, 'this test walks through three overlapping syncs');
    const settled: number[] = [];
    const first = insert(1).then((n) => settled.push(n));
    await tick();
    // Committed (another connection sees it) but not answered before the sync finishes.
    assert.equal(s.calls(), 1);
    assert.equal(settled.length, 0);
    assert.equal(told.length, 0);
    const reader = new Database(join(dir, 'db'), { readonly: true });
    assert.equal((reader.prepare('SELECT COUNT(*) AS c FROM t').get() as { c: number }).c, 1);
    // While sync 0 runs, two more batches commit (the loop is free), each starting its own sync.
    const second = insert(2).then((n) => settled.push(n));
    await tick();
    const third = insert(3).then((n) => settled.push(n));
    await tick();
    assert.equal((reader.prepare('SELECT COUNT(*) AS c FROM t').get() as { c: number }).c, 3);
    assert.equal(s.calls(), MAX_SYNCS_IN_FLIGHT, 'overlapping syncs, up to the limit');
    // A fourth commit waits for a free sync slot.
    const fourth = insert(4).then((n) => settled.push(n));
    await tick();
    assert.equal(s.calls(), MAX_SYNCS_IN_FLIGHT);
    // Sync 1 (started after commits 1 and 2) finishing answers both, in commit order, not 3.
    s.release(1);
    await second;
    await first;
    assert.deepEqual(settled, [1, 2]);
    await tick();
    assert.equal(s.calls(), MAX_SYNCS_IN_FLIGHT + 1, 'the freed slot starts a sync covering commit 4');
    // The last sync covers everything; the earlier ones finishing later change nothing.
    s.release(MAX_SYNCS_IN_FLIGHT);
    await Promise.all([third, fourth]);
    assert.deepEqual(settled, [1, 2, 3, 4]);
    s.release(0);
    s.release(2);
    await tick();
    assert.deepEqual(told.flat(), [1, 2, 3, 4], 'listeners in commit order, once each');
    // A failed sync rejects every commit not yet answered (an overlapping sync may not see the error).
    const lost = insert(5);
    await tick();
    const alsoLost = insert(6);
    await tick();
    s.fail(MAX_SYNCS_IN_FLIGHT + 1, new Error('EIO'));
    await assert.rejects(lost, /could not be made durable/);
    await assert.rejects(alsoLost, /could not be made durable/);
    s.release(MAX_SYNCS_IN_FLIGHT + 2);
    await gc.idle();
    assert.deepEqual(told.flat(), [1, 2, 3, 4]);
    reader.close();
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('submitBetween runs after the batches queued before it have committed, with no transaction open, and holds later ones until it settles', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-group-commit-'));
  const db = new Database(join(dir, 'db'));
  try {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (n INTEGER)');
    const gc = new GroupCommitter(db);
    const order: string[] = [];
    const insert = (n: number) => gc.submit(async () => {
      db.prepare('INSERT INTO t VALUES (?)').run(n);
      order.push(`tx ${n}`);
      return n;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const before = insert(1);
    const between = gc.submitBetween(async () => {
      order.push(`between (in a transaction: ${db.inTransaction}, rows: ${(db.prepare('SELECT COUNT(*) AS c FROM t').get() as { c: number }).c})`);
      await held;
    });
    const afterIt = insert(2);
    await before;
    await tick();
    await tick();
    assert.deepEqual(order, ['tx 1', 'between (in a transaction: false, rows: 1)'], 'the later transaction waits while `between` runs');
    release();
    await between;
    assert.equal(await afterIt, 2);
    assert.deepEqual(order.at(-1), 'tx 2');
    // A failing `between` is reported to its caller and the queue goes on.
    await assert.rejects(gc.submitBetween(async () => Promise.reject(new Error('checkpoint failed'))), /checkpoint failed/);
    assert.equal(await insert(3), 3);
    await gc.idle();
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
