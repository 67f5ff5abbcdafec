import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toCsv } from '../../../../shared/csv';
import { AUDIT_CSV_COLUMNS, type AuditRecord } from '../../../../shared/domain/audit';
import type { ServedLedgerEntry } from '../../../../shared/domain/ledger-entry';
import { auditTable, auditWriter } from '../../../../grant-store/cli/commands/audit';
import { CSV_COLUMNS, CSV_HEADER, csvRows } from '../../../../grant-store/cli/commands/ledger-export';
import { formatTable, streamTable } from '../../../../grant-store/cli/output';

function record(seq: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    seq,
    time: `2026-03-0${1 + (seq % 9)}T10:00:00.000Z`,
    actor: seq % 2 ? 'alice' : 'ci-gate',
    actorRole: seq % 2 ? 'requester' : 'gate',
    action: seq % 2 ? 'request_created' : 'evaluation_under_bypass',
    target: `req_${String(seq).padStart(16, '0')}`,
    requestId: `req_${String(seq).padStart(16, '0')}`,
    team: 'payments',
    gate: 'ci-tests',
    reason: seq % 3 ? 'the suite hangs, "again", on the shared runner' : '=HYPERLINK("x")',
    incidentRef: null,
    severity: 'sev3',
    decision: null,
    approvers: null,
    expiresAt: null,
    sourceAddress: '127.0.0.1',
    reviewId: null,
    reviewStatus: null,
    reviewFinding: null,
    details: seq % 4 ? null : '{"ttl":"15m"}',
    ...over,
  } as AuditRecord;
}

/** `records` written through auditWriter in pages of `size`. */
function paged(format: 'table' | 'jsonl' | 'csv' | 'json', records: AuditRecord[], size: number): string {
  let out = '';
  const writer = auditWriter(format, (text) => (out += text));
  for (let i = 0; i < records.length; i += size) writer.page(records.slice(i, i + size));
  writer.end();
  return out;
}

describe('CLI output written page by page (issue 16: exports in the memory of one page)', () => {
  const records = Array.from({ length: 23 }, (_, i) => record(i));

  test('audit --format json|jsonl|csv: any page size gives the bytes of formatting everything at once', () => {
    const whole = {
      json: `${JSON.stringify({ records }, null, 2)}\n`,
      jsonl: records.map((r) => `${JSON.stringify(r)}\n`).join(''),
      csv: toCsv(AUDIT_CSV_COLUMNS, records),
    };
    for (const format of ['json', 'jsonl', 'csv'] as const) {
      for (const size of [1, 2, 5, 23, 100]) assert.equal(paged(format, records, size), whole[format], `${format} in pages of ${size}`);
      // A page that came back empty (the last one, say) adds nothing.
      let out = '';
      const writer = auditWriter(format, (text) => (out += text));
      writer.page(records.slice(0, 4));
      writer.page([]);
      writer.page(records.slice(4));
      writer.end();
      assert.equal(out, whole[format], `${format} with an empty page between`);
    }
  });

  test('no records: an empty JSON list, a CSV header, no lines, the table says so', () => {
    assert.equal(paged('json', [], 5), `${JSON.stringify({ records: [] }, null, 2)}\n`);
    assert.equal(paged('csv', [], 5), toCsv(AUDIT_CSV_COLUMNS, []));
    assert.equal(paged('jsonl', [], 5), '');
    assert.equal(paged('table', [], 5), 'no audit records match\n');
  });

  test('audit table: one page is exactly the table of all; later pages keep the columns and widen only for a longer value', () => {
    assert.equal(paged('table', records, 100), auditTable(records));
    const long = [...records.slice(0, 5), record(123456, { actor: 'a-much-longer-principal-name' })];
    const lines = paged('table', long, 5).trimEnd().split('\n');
    assert.equal(lines.length, 1 + long.length, 'the header once');
    assert.match(lines[0]!, /^SEQ +TIME +ACTOR +ROLE/);
    const actorAt = lines[0]!.indexOf('ACTOR');
    for (const line of lines.slice(1, 6)) assert.ok(line.slice(actorAt).startsWith('alice') || line.slice(actorAt).startsWith('ci-gate'), `first page aligned: ${line}`);
    // The wider row of the second page still shows every cell, two spaces apart.
    assert.match(lines[6]!, /^123456 {2}2026-03-\d\dT10:00:00.000Z {2}a-much-longer-principal-name {2}gate/);
  });

  test('streamTable: one batch is formatTable; an empty first batch prints nothing until rows come', () => {
    const headers = ['A', 'LONGER', 'C'];
    const rows = [['1', 'x', 'last column is not padded'], ['22', 'yyyyyyyy', 'z']];
    const t = streamTable(headers);
    assert.equal(t.rows([]), '');
    assert.equal(t.rows(rows) + t.end('nothing'), formatTable(headers, rows, 'nothing'));
    assert.equal(streamTable(headers).end('nothing here'), 'nothing here\n');
  });

  test('ledger export --format csv: the header once, then each page of rows (the one CSV writer, redacted entries as their leaf hash)', () => {
    const entries = [
      { seq: 0, time: '2026-03-01T10:00:00.000Z', type: 'request_created', actor: 'alice', actorRole: 'requester', target: 'req_0000000000000000', gate: 'ci-tests', reason: '-rm -rf', incidentRef: null, approver: null, expiresAt: null, sourceAddress: '127.0.0.1', data: { ttl: '15m' } },
      { seq: 1, redacted: true, leafHash: 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=' },
    ] as unknown as ServedLedgerEntry[];
    const rows = [entries[0], { seq: 1, type: '(redacted)', data: { leafHash: 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=' } }] as unknown as Record<(typeof CSV_COLUMNS)[number], unknown>[];
    assert.equal(CSV_HEADER + csvRows(entries.slice(0, 1)) + csvRows(entries.slice(1)), toCsv(CSV_COLUMNS, rows));
    assert.match(csvRows(entries.slice(0, 1)), /,'-rm -rf,/, 'formula-looking text is neutralised');
  });
});
