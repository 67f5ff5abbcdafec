import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toCsv } from '../../../../shared/csv';
import { AUDIT_CSV_COLUMNS, type AuditRecord } from '../../../../shared/domain/audit';
import { notificationsFor, notificationsFromStore } from '../../../../grant-store/alerts/notifications';
import { AUDIT_EXPORT_CHUNK_CHARS, auditExportChunks, auditPage } from '../../../../grant-store/reports/audit-export';
import { auditRecord, auditRecordMatches } from '../../../../grant-store/reports/audit-records';
import { SqliteStore } from '../../../../grant-store/storage/sqlite/sqlite-store';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import { HOUR, ago, bypass, policy, request, review } from '../../../unit/grant-store/reports/fixtures';

function ledgerEntry(type: NewLedgerEntry['type'], target: string, gate: string | null, actor: string, time: string, data: Record<string, unknown> = {}): NewLedgerEntry {
  return { time, type, actor, actorRole: actor === 'system' ? 'system' : 'requester', target, gate, reason: null, incidentRef: null, approver: null, expiresAt: null, sourceAddress: null, data };
}

test('audit pages and the streamed export equal the whole-ledger computation; notifications from the lifecycle index equal the full scan', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-audit-export-'));
  const store = SqliteStore.open(join(dir, 'store.db'));
  try {
    const requests = [
      bypass('req_a', 'integration', 5 * HOUR, { team: 'payments', requester: 'alice' }),
      bypass('req_b', 'perf', 4 * HOUR, { team: 'search', requester: 'erin' }),
      request({ id: 'req_c', gate: 'image-signing', team: 'payments', requester: 'alice', createdAt: ago(3 * HOUR) }),
    ];
    for (const r of requests) await store.transaction((tx) => tx.insertRequest(r));
    await store.transaction((tx) => tx.insertReview(review({ id: 'rev_a', requestId: 'req_a', openedAt: ago(HOUR) })));
    const drafts: NewLedgerEntry[] = [ledgerEntry('policy_loaded', 'sha256:p', null, 'system', ago(6 * HOUR))];
    for (const r of requests) drafts.push(ledgerEntry('request_created', r.id, r.gate, r.requester, r.createdAt));
    drafts.push(ledgerEntry('decision', 'req_a', 'integration', 'bob', ago(5 * HOUR), { decision: 'approve', comment: 'ok' }), ledgerEntry('bypass_activated', 'req_a', 'integration', 'bob', ago(5 * HOUR)));
    for (let i = 0; i < 40; i++) drafts.push(ledgerEntry('evaluation_under_bypass', i % 2 ? 'req_a' : 'req_b', i % 2 ? 'integration' : 'perf', 'ci', ago(4 * HOUR - i * 60_000)));
    drafts.push(ledgerEntry('alert_delivered', 'hook:x', 'perf', 'system', ago(HOUR), { requestId: 'req_b' }), ledgerEntry('bypass_expired', 'req_a', 'integration', 'system', ago(HOUR)));
    await store.transaction((tx) => tx.appendLedger(drafts));

    const entries = await store.getLedgerEntries(0, 1000);
    const join_ = { requests: new Map(requests.map((r) => [r.id, r])), reviews: new Map([['req_a', (await store.getReviewByRequest('req_a'))!]]) };
    const queries = [{}, { gate: 'perf' }, { team: 'payments' }, { team: 'search' }, { actor: 'system' }, { from: ago(4 * HOUR), to: ago(3.8 * HOUR) }, { team: 'payments', gate: 'integration', actor: 'ci' }];
    for (const q of queries) {
      const expected = entries.map((e) => auditRecord(e, join_)).filter((r) => auditRecordMatches(r, q));
      assert.ok(expected.length > 0, JSON.stringify(q));
      const paged: AuditRecord[] = [];
      let cursor = -1;
      for (;;) {
        const page = await auditPage(store, q, cursor, 3);
        assert.ok(page.records.length <= 3);
        paged.push(...page.records);
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      assert.deepEqual(paged, expected, JSON.stringify(q));
      const text = async (format: 'jsonl' | 'csv' | 'json') => {
        let out = '';
        for await (const chunk of auditExportChunks(store, q, format, 4)) out += chunk;
        return out;
      };
      assert.equal(await text('jsonl'), expected.map((r) => `${JSON.stringify(r)}\n`).join(''));
      assert.equal(await text('csv'), toCsv(AUDIT_CSV_COLUMNS, expected));
      assert.deepEqual(JSON.parse(await text('json')), { records: expected });
    }

    for (const principal of ['alice', 'erin', 'bob']) {
      for (const since of [-1, 3]) {
        const expected = notificationsFor(principal, entries, policy, since);
        assert.deepEqual(await notificationsFromStore(store, principal, policy, since, 200), expected, `${principal} since ${since}`);
        assert.deepEqual(await notificationsFromStore(store, principal, policy, since, 1), expected.slice(0, 1));
      }
    }
    assert.ok(notificationsFor('alice', entries, policy).length > 0);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the streamed export comes in small chunks (no page-sized strings), in every format', async () => {
  // A page joined into one string (~0.7 MB per 1,000 records) lands in V8's large-object space
  // and waits there for a full GC: a 1M export held hundreds of MB of them (bench/growth).
  const dir = await mkdtemp(join(tmpdir(), 'bg-audit-chunks-'));
  const store = SqliteStore.open(join(dir, 'store.db'));
  try {
    const r = bypass('req_a', 'integration', 5 * HOUR, { team: 'payments', requester: 'alice' });
    await store.transaction((tx) => tx.insertRequest(r));
    const drafts = Array.from({ length: 600 }, (_, i) => ledgerEntry('evaluation_under_bypass', 'req_a', 'integration', 'ci', ago(4 * HOUR - i * 1000), { subject: { repo: 'payments-api', branch: `b-${i}` } }));
    await store.transaction((tx) => tx.appendLedger(drafts));
    const entries = await store.getLedgerEntries(0, 1000);
    const join_ = { requests: new Map([[r.id, r]]), reviews: new Map() };
    const expected = entries.map((e) => auditRecord(e, join_));
    const longest = Math.max(...expected.map((rec) => JSON.stringify(rec).length)) + 2;
    for (const format of ['jsonl', 'csv', 'json'] as const) {
      const chunks: string[] = [];
      for await (const chunk of auditExportChunks(store, {}, format)) chunks.push(chunk);
      assert.ok(chunks.length > 3, `${format}: ${chunks.length} chunks`);
      for (const chunk of chunks) assert.ok(chunk.length <= AUDIT_EXPORT_CHUNK_CHARS + longest, `${format}: a chunk of ${chunk.length} characters`);
      const text = chunks.join('');
      if (format === 'jsonl') assert.equal(text, expected.map((rec) => `${JSON.stringify(rec)}\n`).join(''));
      else if (format === 'csv') assert.equal(text, toCsv(AUDIT_CSV_COLUMNS, expected));
      else assert.deepEqual(JSON.parse(text), { records: expected });
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
