import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GroupCommit } from '../../../../grant-store/checks/group-commit';
import { AppError } from '../../../../shared/errors';
import { SqliteStore } from '../../../../grant-store/storage/sqlite/sqlite-store';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';

let dir: string;
let store: SqliteStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-group-commit-'));
  store = SqliteStore.open(join(dir, 'breakglass.db'));
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const entry = (target: string): NewLedgerEntry => ledgerEntry({ type: 'evaluation_under_bypass', actor: 'ci-gate', actorRole: 'gate', target, gate: 'ci-tests' });

test('concurrent calls share commits, and each gets its own committed result', async () => {
  const group = new GroupCommit(store);
  const commits: number[] = [];
  const unsubscribe = store.onLedgerAppended((entries) => commits.push(entries.length));
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => group.run(async (tx) => (await tx.appendLedger([entry(`t${i}`)]))[0]!)));
  unsubscribe();
  assert.deepEqual(results.map((e) => e.target), Array.from({ length: 100 }, (_, i) => `t${i}`));
  assert.equal(new Set(results.map((e) => e.seq)).size, 100);
  assert.equal(await store.ledgerSize(), 100);
  assert.ok(commits.length < 10, `100 calls took ${commits.length} commits`);
});

test('a failing call is reported to its caller alone; the others commit', async () => {
  const group = new GroupCommit(store);
  const before = await store.ledgerSize();
  const outcomes = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) =>
      group.run(async (tx) => {
        if (i === 3) throw new Error('not this one');
        return (await tx.appendLedger([entry(`u${i}`)]))[0]!.seq;
      }),
    ),
  );
  assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 1);
  assert.match(String((outcomes[3] as PromiseRejectedResult).reason), /not this one/);
  assert.equal((await store.ledgerSize()) - before, 9);
});

test('batches pipeline (two in flight) and the ledger stays gap-free, in order, with the warn counters equal to the entries', async () => {
  const group = new GroupCommit(store);
  const first = await store.ledgerSize();
  const delivered: number[] = [];
  const unsubscribe = store.onLedgerAppended((entries) => delivered.push(...entries.map((e) => e.seq)));
  const countersBefore = (await store.counterRows({ metrics: ['warns'] })).reduce((n, r) => n + r.count, 0);
  // Waves arriving while earlier batches are committing or syncing.
  const waves: Promise<number>[] = [];
  for (let wave = 0; wave < 6; wave++) {
    for (let i = 0; i < 50; i++) waves.push(group.run(async (tx) => (await tx.appendLedger([entry(`w${wave}-${i}`)]))[0]!.seq));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const seqs = await Promise.all(waves);
  unsubscribe();
  assert.deepEqual([...seqs].sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => first + i), 'dense seqs, each once');
  // Callers queued earlier are numbered earlier (one queue, batches committed in order).
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.deepEqual(delivered, Array.from({ length: 300 }, (_, i) => first + i), 'listeners get every entry once, in seq order');
  const texts = await store.getLedgerEntryTexts(first, 300);
  assert.deepEqual(texts.map((t) => t.seq), seqs);
  const countersAfter = (await store.counterRows({ metrics: ['warns'] })).reduce((n, r) => n + r.count, 0);
  assert.equal(countersAfter - countersBefore, 300, 'one warn counted per evaluation entry, in the same commits');
});

test('a backed-up queue sheds new calls with 503 unavailable and a Retry-After, writing nothing for them; queued calls still commit', async () => {
  let now = 0;
  const logged: string[] = [];
  const group = new GroupCommit(store, { now: () => now, maxBatchesInFlight: 1, shedAfterMs: 1_000, maxQueued: 3, log: (message) => logged.push(message) });
  const before = await store.ledgerSize();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const a = group.run(async (tx) => {
    started();
    await held; // the batch in flight stalls (a slow disk or database)
    return (await tx.appendLedger([entry('held')]))[0]!.seq;
  });
  await running;
  const b = group.run(async (tx) => (await tx.appendLedger([entry('queued')]))[0]!.seq);
  now = 999;
  const c = group.run(async (tx) => (await tx.appendLedger([entry('queued-too')]))[0]!.seq);
  now = 1_001; // the oldest queued call (b) has waited longer than shedAfterMs
  const shed = await group.run(async (tx) => (await tx.appendLedger([entry('shed')]))[0]!.seq).then(
    () => assert.fail('a call arriving behind a stalled queue must be shed'),
    (error: unknown) => error,
  );
  assert.ok(shed instanceof AppError);
  assert.equal(shed.code, 'unavailable');
  assert.equal(shed.status, 503);
  assert.equal(shed.retryAfterS, 1);
  assert.match(shed.message, /saturated: 2 evaluations are waiting to be recorded \(the oldest for 1001 ms\)/);
  await assert.rejects(group.run(async () => 'also shed'), (error: unknown) => error instanceof AppError && error.code === 'unavailable');
  assert.deepEqual(logged, ['warn path saturated: 2 evaluations queued, the oldest for 1001 ms; refusing new warns with 503 + Retry-After until it drains'], 'the episode is logged once, not per refused call');
  release();
  assert.deepEqual(await Promise.all([a, b, c]), [before, before + 1, before + 2]);
  assert.equal(await store.ledgerSize(), before + 3, 'nothing written for the shed call');
  const targets = (await store.getLedgerEntries(before, 10)).map((e) => e.target);
  assert.deepEqual(targets, ['held', 'queued', 'queued-too']);
  // Drained: a call long after is accepted again.
  now = 60_000;
  assert.equal(await group.run(async (tx) => (await tx.appendLedger([entry('later')]))[0]!.seq), before + 3);
  assert.equal(logged[1], 'warn path drained: 2 warns were refused with 503 while it was saturated');
});

test('the queue is bounded: past maxQueued a call is shed at once', async () => {
  const group = new GroupCommit(store, { now: () => 0, maxBatchesInFlight: 1, maxQueued: 2 });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const a = group.run(async () => {
    started();
    await held;
  });
  await running;
  const queued = [group.run(async () => 'one'), group.run(async () => 'two')];
  await assert.rejects(group.run(async () => 'three'), (error: unknown) => error instanceof AppError && error.code === 'unavailable' && error.retryAfterS === 1);
  release();
  await a;
  assert.deepEqual(await Promise.all(queued), ['one', 'two']);
});
