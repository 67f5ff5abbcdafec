import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { auditEntriesSql, ledgerSeqRangeSql, notificationEntriesSql } from '../../../grant-store/storage/ledger-filter-sql';
import { SQLITE_LEDGER, sqliteParam } from '../../../grant-store/storage/sqlite/sqlite-reader';
import { requestListSql, reviewListSql } from '../../../grant-store/storage/list-page-sql';
import type { RequestFilter, ReviewFilter } from '../../../grant-store/storage/store';
import { SqliteStore } from '../../../grant-store/storage/sqlite/sqlite-store';

// The ledger reads that must not grow with the ledger, held to their indexed plans on SQLite
// (EXPLAIN QUERY PLAN on the migrated schema): a regression to a walk over every entry fails
// here, not in a bench. PostgreSQL plans from statistics; its answers are held equal to
// SQLite's by the conformance suite.
test('audit and notification reads use the ledger indexes (SQLite query plans)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-ledger-plans-'));
  const path = join(dir, 'breakglass.db');
  await SqliteStore.open(path).close();
  const db = new Database(path, { readonly: true });
  try {
    const plan = (q: { sql: string; params: unknown[] }) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.params) as { detail: string }[]).map((r) => r.detail);
    const from = '2026-11-30T12:00:00.000Z';
    const to = '2026-11-30T13:00:00.000Z';

    assert.deepEqual(plan(ledgerSeqRangeSql(SQLITE_LEDGER, from, to)), ['SEARCH ledger_entries USING COVERING INDEX ledger_entries_time (time>? AND time<?)']);
    assert.deepEqual(plan(ledgerSeqRangeSql(SQLITE_LEDGER, from, undefined)), ['SEARCH ledger_entries USING COVERING INDEX ledger_entries_time (time>?)']);
    // A time window bounded by seq: a range on the primary key, or on the gate / actor index's seq column.
    assert.deepEqual(plan(auditEntriesSql(SQLITE_LEDGER, { from, to, minSeq: 10, maxSeq: 20 }, -1, 100)), ['SEARCH ledger_entries USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)']);
    assert.deepEqual(plan(auditEntriesSql(SQLITE_LEDGER, { from, minSeq: 10, gate: 'ci-tests' }, -1, 100)), ['SEARCH ledger_entries USING INDEX ledger_entries_gate (<expr>=? AND seq>?)']);
    assert.deepEqual(plan(auditEntriesSql(SQLITE_LEDGER, { from, minSeq: 10, actor: 'alice' }, 5, 100)), ['SEARCH ledger_entries USING INDEX ledger_entries_actor (<expr>=? AND seq>?)']);
    // One lower bound on seq: the later of the cursor and the window's first seq.
    assert.deepEqual(auditEntriesSql(SQLITE_LEDGER, { from, minSeq: 10 }, 3, 100).params[0], 9);
    assert.deepEqual(auditEntriesSql(SQLITE_LEDGER, { from, minSeq: 10 }, 42, 100).params[0], 42);

    // Notifications: the requester's feed, each notify-list gate's lifecycle entries and the
    // emergency entries, each from its own index (never the actor's every entry, never a warn).
    const notification = plan(notificationEntriesSql(SQLITE_LEDGER, 'alice', { notifyGates: ['prod-deploy'], emergencyAudience: false }, 7, 500));
    const searches = notification.filter((d) => d.startsWith('SEARCH') || d.startsWith('SCAN'));
    assert.deepEqual(searches.sort(), [
      'SCAN n0',
      'SCAN n1',
      'SCAN n2',
      'SEARCH e USING INTEGER PRIMARY KEY (rowid=?)',
      'SEARCH f USING PRIMARY KEY (requester=? AND seq>?)',
      'SEARCH ledger_entries USING INDEX ledger_entries_emergency (seq>?)',
      'SEARCH ledger_entries USING INDEX ledger_entries_gate_lifecycle (<expr>=? AND seq>?)',
    ]);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

// The keyset pages of GET /v1/requests and GET /v1/reviews (migration 14): each filter's page
// after a cursor is a range of an index ending in (time, id), read in order up to the limit;
// only a list of several states sorts, and then only the rows in those states.
test('request and review pages read an index in the list order after the cursor (SQLite query plans)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-list-plans-'));
  const path = join(dir, 'breakglass.db');
  await SqliteStore.open(path).close();
  const db = new Database(path, { readonly: true });
  try {
    const plan = (q: { sql: string; params: unknown[] }) => (db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.params) as { detail: string }[]).map((r) => r.detail);
    const after = { at: '2026-11-30T12:00:00.000Z', id: 'req_0123456789abcdef' };
    const requests = (filter: RequestFilter) => plan(requestListSql(sqliteParam, { ...filter, after, limit: 500 }));
    assert.deepEqual(requests({}), ['SEARCH requests USING INDEX requests_created ((created_at,id)<(?,?))']);
    assert.deepEqual(requests({ states: ['expired'] }), ['SEARCH requests USING INDEX requests_state (state=? AND (created_at,id)<(?,?))']);
    assert.deepEqual(requests({ states: ['pending', 'needs_info'] }), ['SEARCH requests USING INDEX requests_state (state=? AND (created_at,id)<(?,?))', 'USE TEMP B-TREE FOR ORDER BY']);
    assert.deepEqual(requests({ requester: 'alice' }), ['SEARCH requests USING INDEX requests_requester (requester=? AND (created_at,id)<(?,?))']);
    assert.deepEqual(requests({ team: 'payments' }), ['SEARCH requests USING INDEX requests_team (team=? AND (created_at,id)<(?,?))']);
    assert.deepEqual(requests({ gate: 'ci-tests', states: ['active'] }), ['SEARCH requests USING INDEX requests_gate_created (gate=? AND (created_at,id)<(?,?))']);
    const reviews = (filter: ReviewFilter) => plan(reviewListSql(sqliteParam, { ...filter, after: { ...after, id: 'rev_0123456789abcdef' }, limit: 500 }));
    assert.deepEqual(reviews({}), ['SEARCH reviews USING INDEX reviews_opened ((opened_at,id)<(?,?))']);
    assert.deepEqual(reviews({ state: 'reviewed' }), ['SEARCH reviews USING INDEX reviews_state_opened (state=? AND (opened_at,id)<(?,?))']);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
