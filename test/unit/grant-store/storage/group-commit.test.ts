import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { GroupCommitter } from '../../../../grant-store/storage/sqlite/group-commit';

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

test('off-loop durability: callers are answered (and listeners told) only after a sync that began after their commit; batches committed during a sync share the next one', async () => {
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
    const settled: number[] = [];
    const first = insert(1).then((n) => settled.push(n));
    await tick();
    // Committed (another connection sees it) but not answered before the sync finishes.
    assert.equal(s.calls(), 1);
    assert.equal(settled.length, 0);
    assert.equal(told.length, 0);
    const reader = new Database(join(dir, 'db'), { readonly: true });
    assert.equal((reader.prepare('SELECT COUNT(*) AS c FROM t').get() as { c: number }).c, 1);
    // While sync 0 runs, two more transactions commit (the loop is free) and wait for sync 1.
    const second = insert(2).then((n) => settled.push(n));
    const third = insert(3).then((n) => settled.push(n));
    await tick();
    assert.equal((reader.prepare('SELECT COUNT(*) AS c FROM t').get() as { c: number }).c, 3);
    assert.equal(s.calls(), 1, 'one sync at a time');
    s.release(0);
    await first;
    assert.deepEqual(settled, [1]);
    await tick();
    assert.equal(s.calls(), 2, 'the next sync covers both later commits');
    assert.deepEqual(settled, [1]);
    s.release(1);
    await Promise.all([second, third]);
    assert.deepEqual(settled, [1, 2, 3]);
    assert.deepEqual(told.flat(), [1, 2, 3], 'listeners in commit order');
    // A failed sync rejects the transactions it covered.
    const lost = insert(4);
    await tick();
    s.fail(2, new Error('EIO'));
    await assert.rejects(lost, /could not be made durable/);
    await gc.idle();
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
