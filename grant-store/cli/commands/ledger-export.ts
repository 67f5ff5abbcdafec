import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { toCsv as writeCsv } from '../../../shared/csv';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { validateFlags } from '../validate';

/** Entries fetched per GET /v1/ledger/entries call. */
const PAGE_SIZE = 1000;

/** The auditor's columns, in the order ARCHITECTURE.md lists them; `data` is JSON. */
export const CSV_COLUMNS = ['seq', 'time', 'type', 'actor', 'actorRole', 'target', 'gate', 'reason', 'incidentRef', 'approver', 'expiresAt', 'sourceAddress', 'data'] as const;

const ExportFlagsSchema = z.strictObject({ format: z.enum(['jsonl', 'csv']), out: z.string().min(1).optional() });

/** Every ledger entry in seq order, page by page. */
export async function fetchAllEntries(ctx: CliContext, cmd: Command): Promise<LedgerEntry[]> {
  const client = ctx.client(cmd);
  const all: LedgerEntry[] = [];
  let from = 0;
  for (;;) {
    const page = await client.get<{ entries: LedgerEntry[]; treeSize: number }>('/v1/ledger/entries', { from, limit: PAGE_SIZE });
    all.push(...page.entries);
    const last = page.entries.at(-1);
    if (!last || page.entries.length < PAGE_SIZE || last.seq + 1 >= page.treeSize) return all;
    from = last.seq + 1;
  }
}

/** The project's one CSV writer (shared/csv.ts): RFC 4180 plus formula-injection neutralising. */
export function toCsv(entries: LedgerEntry[]): string {
  return writeCsv(CSV_COLUMNS, entries as unknown as Record<(typeof CSV_COLUMNS)[number], unknown>[]);
}

export function toJsonl(entries: LedgerEntry[]): string {
  return entries.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** `ledger export`: the whole ledger for auditors (needs an auditor or admin token). */
export function registerLedgerExport(ledger: Command, ctx: CliContext): void {
  withExamples(
    ledger
      .command('export')
      .description('write every ledger entry for auditors: JSON lines (one entry per line, exactly as hashed) or CSV')
      .requiredOption('--format <format>', 'jsonl | csv')
      .option('--out <file>', 'write to this file instead of stdout'),
    'breakglass ledger export --format jsonl > ledger.jsonl',
    'breakglass ledger export --format csv --out ledger.csv',
  ).action(async (flags: { format: string; out?: string }, cmd: Command) => {
    const opts = validateFlags(ExportFlagsSchema, { format: flags.format, out: flags.out }, 'export', { format: '--format', out: '--out' });
    const entries = await fetchAllEntries(ctx, cmd);
    const text = opts.format === 'csv' ? toCsv(entries) : toJsonl(entries);
    if (opts.out) {
      await writeFile(opts.out, text);
      ctx.note(`Wrote ${entries.length} ledger entries to ${opts.out}.`);
    } else {
      ctx.io.stdout(text);
    }
  });
}
