import { csvHeader, csvLine } from '../../shared/csv';
import { AUDIT_CSV_COLUMNS, type AuditQuery, type AuditRecord } from '../../shared/domain/audit';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { LedgerFilter, StoreReader } from '../storage/store';
import { auditRecord, auditRecordMatches, requestIdOf } from './audit-records';

/** Entries read per SQL page while exporting (the export's memory is a few of these pages). */
export const AUDIT_EXPORT_PAGE = 100;

type AuditFilter = Pick<AuditQuery, 'from' | 'to' | 'gate' | 'team' | 'actor'>;

/**
 * The query as SQL filters. gate: the entry's own gate, which equals the record's (entry gate,
 * else its request's) because every writer of an entry about a request puts the request's gate
 * on it (requestAudit, reviews, alert deliveries); team: SQL keeps the team's request entries
 * and the entries about no request, and auditRecordMatches decides on the joined record.
 */
function ledgerFilter(q: AuditFilter): LedgerFilter {
  return { ...(q.from ? { from: q.from } : {}), ...(q.to ? { to: q.to } : {}), ...(q.gate ? { gate: q.gate } : {}), ...(q.actor ? { actor: q.actor } : {}), ...(q.team ? { team: q.team } : {}) };
}

/**
 * The filter with the seq bounds of its time window (StoreReader.ledgerSeqRange), or null when
 * the window holds no entry. Without the bounds, a page walks seq from the cursor testing every
 * entry's time (a recent window of a 1M ledger: every entry). The lookup costs the window's
 * entries (index only), so it is made once per export, and per page only when needed: the
 * lower bound for a first page (a cursor from an earlier page is already past it), the upper
 * bound whenever `to` is given (else the last page walks every entry after the window). With
 * `to` alone there is no lookup (its window is the ledger's whole past); the last page walks the
 * entries after it.
 */
async function withSeqBounds(store: StoreReader, filter: LedgerFilter, firstPage: boolean): Promise<LedgerFilter | null> {
  if (filter.from === undefined || (!firstPage && filter.to === undefined)) return filter;
  const range = await store.ledgerSeqRange(filter.from, filter.to);
  if (range === null) return null;
  return { ...filter, minSeq: range.first, ...(filter.to !== undefined ? { maxSeq: range.last } : {}) };
}

/** Audit records for one page of entries, joined with just the requests and reviews they mention. */
async function recordsFor(store: StoreReader, entries: readonly LedgerEntry[], q: AuditFilter): Promise<AuditRecord[]> {
  const ids = [...new Set(entries.map(requestIdOf).filter((id): id is string => id !== null))];
  const [requests, reviews] = await Promise.all([store.getRequests(ids), store.getReviewsByRequests(ids)]);
  const join = { requests: new Map(requests.map((r) => [r.id, r])), reviews: new Map(reviews.map((r) => [r.requestId, r])) };
  return entries.map((e) => auditRecord(e, join)).filter((r) => auditRecordMatches(r, q));
}

/**
 * One page of the audit: up to `limit` records after ledger seq `cursor` (-1: from the start),
 * filters in SQL (StoreReader.auditEntries), and `nextCursor` to pass for the next page (null
 * when the audit has no more records). Keyset paging on seq: no record is skipped or repeated,
 * whatever is appended meanwhile.
 */
export async function auditPage(store: StoreReader, q: AuditFilter, cursor: number, limit: number): Promise<{ records: AuditRecord[]; nextCursor: number | null }> {
  const filter = await withSeqBounds(store, ledgerFilter(q), cursor < 0);
  if (filter === null) return { records: [], nextCursor: null };
  const records: AuditRecord[] = [];
  let after = cursor;
  for (;;) {
    const entries = await store.auditEntries(filter, after, limit - records.length);
    if (entries.length === 0) return { records, nextCursor: null };
    records.push(...(await recordsFor(store, entries, q)));
    after = entries[entries.length - 1]!.seq;
    if (records.length >= limit) return { records, nextCursor: after };
  }
}

/** Every matching record, page by page (constant memory: one page at a time). */
export async function* auditRecords(store: StoreReader, q: AuditFilter, pageSize = AUDIT_EXPORT_PAGE): AsyncGenerator<AuditRecord[]> {
  const filter = await withSeqBounds(store, ledgerFilter(q), true);
  if (filter === null) return;
  let after = -1;
  for (;;) {
    const entries = await store.auditEntries(filter, after, pageSize);
    if (entries.length === 0) return;
    after = entries[entries.length - 1]!.seq;
    const records = await recordsFor(store, entries, q);
    if (records.length > 0) yield records;
  }
}

/**
 * Characters per yielded chunk. A chunk stays well under V8's large-object threshold (128 KiB):
 * a page joined into one string (~0.7 MB per 1,000 records) is allocated in large-object space,
 * which only a full GC frees, so a 1M-entry export piled up hundreds of MB of dead pages between
 * full GCs; chunks this size die young.
 */
export const AUDIT_EXPORT_CHUNK_CHARS = 32 * 1024;

/**
 * The full audit as text chunks in `format` (jsonl: a record per line; csv: header then rows,
 * CRLF; json: `{"records":[...]}`), for a streamed HTTP body: one page of entries in memory at a
 * time, yielded in chunks of about AUDIT_EXPORT_CHUNK_CHARS.
 */
export async function* auditExportChunks(store: StoreReader, q: AuditFilter, format: AuditQuery['format'], pageSize = AUDIT_EXPORT_PAGE): AsyncGenerator<string> {
  const parts: string[] = [];
  let size = 0;
  const take = (text: string): string | null => {
    parts.push(text);
    size += text.length;
    if (size < AUDIT_EXPORT_CHUNK_CHARS) return null;
    const chunk = parts.join('');
    parts.length = 0;
    size = 0;
    return chunk;
  };
  if (format === 'csv') take(csvHeader(AUDIT_CSV_COLUMNS));
  if (format === 'json') take('{"records":[');
  let first = true;
  for await (const records of auditRecords(store, q, pageSize)) {
    for (const r of records) {
      const text = format === 'jsonl' ? `${JSON.stringify(r)}\n` : format === 'csv' ? csvLine(AUDIT_CSV_COLUMNS, r) : `${first ? '' : ','}${JSON.stringify(r)}`;
      first = false;
      const chunk = take(text);
      if (chunk !== null) yield chunk;
    }
  }
  if (format === 'json') take(']}');
  if (parts.length > 0) yield parts.join('');
}
