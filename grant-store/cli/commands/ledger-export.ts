import type { Command } from 'commander';
import { toCsv as writeCsv } from '../../../shared/csv';
import { isRedactedEntry, type ServedLedgerEntry } from '../../../shared/domain/ledger-entry';
import type { CliContext } from '../context';

/** Entries fetched per GET /v1/ledger/entries call. */
const PAGE_SIZE = 1000;

/** The auditor's columns, in the order ARCHITECTURE.md lists them; `data` is JSON. */
export const CSV_COLUMNS = ['seq', 'time', 'type', 'actor', 'actorRole', 'target', 'gate', 'reason', 'incidentRef', 'approver', 'expiresAt', 'sourceAddress', 'data'] as const;

/** Every ledger entry in seq order, page by page (those outside the caller's tiers redacted to their leaf hash). */
export async function fetchAllEntries(ctx: CliContext, cmd: Command): Promise<ServedLedgerEntry[]> {
  const client = ctx.client(cmd);
  const all: ServedLedgerEntry[] = [];
  let from = 0;
  for (;;) {
    const page = await client.call('ledgerEntries', { query: { from, limit: PAGE_SIZE } });
    all.push(...page.entries);
    const last = page.entries.at(-1);
    if (!last || page.entries.length < PAGE_SIZE || last.seq + 1 >= page.treeSize) return all;
    from = last.seq + 1;
  }
}

/** The project's one CSV writer (shared/csv.ts): RFC 4180 plus formula-injection neutralising. A redacted entry is a row of its seq, type `(redacted)` and its leaf hash as data. */
export function toCsv(entries: ServedLedgerEntry[]): string {
  const rows = entries.map((e) => (isRedactedEntry(e) ? { seq: e.seq, type: '(redacted)', data: { leafHash: e.leafHash } } : e));
  return writeCsv(CSV_COLUMNS, rows as unknown as Record<(typeof CSV_COLUMNS)[number], unknown>[]);
}

export function toJsonl(entries: ServedLedgerEntry[]): string {
  return entries.map((e) => `${JSON.stringify(e)}\n`).join('');
}
