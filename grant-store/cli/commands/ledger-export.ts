import { csvHeader, csvLine } from '../../../shared/csv';
import { isRedactedEntry, type ServedLedgerEntry } from '../../../shared/domain/ledger-entry';
import type { StoreClient } from '../../../shared/node/http/store-client';

/** Entries fetched per GET /v1/ledger/entries call. */
export const ENTRY_PAGE = 1000;

/** The auditor's columns, in the order ARCHITECTURE.md lists them; `data` is JSON. */
export const CSV_COLUMNS = ['seq', 'time', 'type', 'actor', 'actorRole', 'target', 'gate', 'reason', 'incidentRef', 'approver', 'expiresAt', 'sourceAddress', 'data'] as const;

/**
 * Every ledger entry in seq order, handed to `page` one page at a time and awaited before the
 * next is fetched (a year's ledger never sits in memory at once); those outside the caller's
 * tiers come redacted to their leaf hash. Returns how many entries, and how many redacted.
 */
export async function forEachEntryPage(client: StoreClient, page: (entries: ServedLedgerEntry[]) => Promise<void>, pageSize = ENTRY_PAGE): Promise<{ entries: number; redacted: number }> {
  let from = 0;
  let entries = 0;
  let redacted = 0;
  for (;;) {
    const got = await client.call('ledgerEntries', { query: { from, limit: pageSize } });
    entries += got.entries.length;
    redacted += got.entries.filter(isRedactedEntry).length;
    if (got.entries.length > 0) await page(got.entries);
    const last = got.entries.at(-1);
    if (!last || got.entries.length < pageSize || last.seq + 1 >= got.treeSize) return { entries, redacted };
    from = last.seq + 1;
  }
}

/** The CSV's header row (the project's one CSV writer, shared/csv.ts: RFC 4180 plus formula-injection neutralising). */
export const CSV_HEADER = csvHeader(CSV_COLUMNS);

/** CSV rows of `entries` (no header). A redacted entry is a row of its seq, type `(redacted)` and its leaf hash as data. */
export function csvRows(entries: readonly ServedLedgerEntry[]): string {
  return entries.map((e) => csvLine(CSV_COLUMNS, (isRedactedEntry(e) ? { seq: e.seq, type: '(redacted)', data: { leafHash: e.leafHash } } : e) as unknown as Record<(typeof CSV_COLUMNS)[number], unknown>)).join('');
}

export function toJsonl(entries: readonly ServedLedgerEntry[]): string {
  return entries.map((e) => `${JSON.stringify(e)}\n`).join('');
}
