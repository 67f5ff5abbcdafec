import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { GroupCommit } from '../../../../grant-store/checks/group-commit';
import { PgStore } from '../../../../grant-store/storage/postgres/pg-store';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import type { BypassRequest } from '../../../../shared/domain/request';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';
import { storedActiveRequest } from '../../../support/stored-request';
import { until } from '../../../support/until';
import { createTempDatabase, type TempDatabase } from '../../storage/pg-temp-database';

/**
 * The warn group commit on PostgreSQL with two batches in flight: each batch locks the requests
 * its warns confirm (FOR UPDATE) in id order before the ledger head, so batches confirming the
 * same bypasses in any order never deadlock, and seqs stay dense and in commit order. Two
 * batches in flight may commit in either order (the later one's connection can reach the
 * server first); a warn asked after another was answered is always numbered after it.
 */

let db: TempDatabase;
let store: PgStore;

before(async () => {
  db = await createTempDatabase('bg_group_commit');
  store = await PgStore.open({ databaseUrl: db.url });
});
after(async () => {
  await store?.close();
  await db?.drop();
});

const activeRequest = storedActiveRequest;

const evaluation = (request: BypassRequest, i: number): NewLedgerEntry =>
  ledgerEntry({ type: 'evaluation_under_bypass', actor: 'ci-gate', actorRole: 'gate', target: request.id, gate: request.gate, data: { i } });

async function deadlocks(): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return Number((await client.query<{ deadlocks: string }>('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.deadlocks);
  } finally {
    await client.end();
  }
}

test('two batches in flight confirming the same bypasses in opposite orders: no deadlock, dense seqs, delivery in seq order, counters per team', async () => {
  const requests = [activeRequest('payments'), activeRequest('platform'), activeRequest('payments')];
  await store.transaction(async (tx) => {
    for (const r of requests) await tx.insertRequest(r);
  });
  const group = new GroupCommit(store, { maxBatchesInFlight: 2 });
  const first = await store.ledgerSize();
  const deadlocksBefore = await deadlocks();
  const delivered: number[] = [];
  const unsubscribe = store.onLedgerAppended((entries) => delivered.push(...entries.map((e) => e.seq)));
  const calls: Promise<number>[] = [];
  const counts = new Map<string, number>();
  for (let wave = 0; wave < 8; wave++) {
    // Each wave confirms the bypasses in another order (reversed every other wave).
    const order = wave % 2 === 0 ? requests : [...requests].reverse();
    for (let i = 0; i < 30; i++) {
      const request = order[i % order.length]!;
      counts.set(request.team, (counts.get(request.team) ?? 0) + 1);
      calls.push(
        group.run(async (tx) => {
          const fresh = await tx.getRequest(request.id);
          assert.equal(fresh?.state, 'active');
          return (await tx.appendLedger([evaluation(request, wave * 100 + i)]))[0]!.seq;
        }, request.id),
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  // One gate checking sequentially alongside: each of its warns is numbered after the one it
  // waited for (batches in flight together may commit in either order; an answered warn is
  // always before the next one asked).
  const sequential: number[] = [];
  for (let i = 0; i < 10; i++) {
    const request = requests[i % requests.length]!;
    counts.set(request.team, (counts.get(request.team) ?? 0) + 1);
    sequential.push(await group.run(async (tx) => (await tx.appendLedger([evaluation(request, 1000 + i)]))[0]!.seq, request.id));
  }
  const seqs = [...(await Promise.all(calls)), ...sequential];
  await store.syncLedger();
  unsubscribe();
  assert.deepEqual([...seqs].sort((a, b) => a - b), Array.from({ length: 250 }, (_, i) => first + i), 'dense seqs, each once');
  assert.deepEqual(sequential, [...sequential].sort((a, b) => a - b), 'a warn asked after another was answered is numbered after it');
  assert.deepEqual(delivered, Array.from({ length: 250 }, (_, i) => first + i), 'listeners get every entry once, in seq order');
  assert.equal(await deadlocks(), deadlocksBefore, 'no transaction was chosen as a deadlock victim');
  const warns = await store.counterRows({ metrics: ['warns'] });
  const byTeam = new Map<string, number>();
  for (const row of warns) byTeam.set(row.team, (byTeam.get(row.team) ?? 0) + row.count);
  assert.deepEqual(Object.fromEntries(byTeam), Object.fromEntries(counts), 'warn counters equal the evaluations, per request team');
});

test('a batch waiting on a revocation that holds its bypass sees the revoked request once it commits, and its warn falls after the revocation in the ledger', async () => {
  const request = activeRequest('payments');
  await store.transaction((tx) => tx.insertRequest(request));
  const group = new GroupCommit(store, { maxBatchesInFlight: 2 });
  // The revocation locks the request (as a decision does), then we start a warn batch on it.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const revocation = store.transaction(async (tx) => {
    const current = (await tx.getRequest(request.id))!;
    await tx.updateRequest({ ...current, state: 'revoked', closedAt: new Date().toISOString(), closedBy: 'bob' });
    locked();
    await held;
    return (await tx.appendLedger([ledgerEntry({ type: 'bypass_revoked', actor: 'bob', actorRole: 'approver', target: request.id, gate: request.gate })]))[0]!.seq;
  });
  await isLocked;
  const warn = group.run(async (tx) => {
    const fresh = await tx.getRequest(request.id);
    if (fresh?.state !== 'active') return { state: fresh?.state, seq: null };
    return { state: fresh.state, seq: (await tx.appendLedger([evaluation(request, 0)]))[0]!.seq };
  }, request.id);
  // The batch is queued on the request's row lock, not answered from what it read before.
  const waiting = new pg.Client({ connectionString: db.url });
  await waiting.connect();
  try {
    const blocked = await until('the warn batch to wait on the revocation\'s row lock', async () => {
      const n = Number((await waiting.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0]!.n);
      return n > 0 ? n : undefined;
    });
    assert.equal(blocked, 1, 'only the batch waits');
  } finally {
    await waiting.end();
  }
  release();
  const revokedAt = await revocation;
  assert.deepEqual(await warn, { state: 'revoked', seq: null });
  // A warn after it is numbered after the revocation (the head came after the request's lock).
  const next = await group.run(async (tx) => (await tx.appendLedger([evaluation(request, 1)]))[0]!.seq, request.id);
  assert.ok(next > revokedAt);
});
