import type { Command } from 'commander';
import { z } from 'zod';
import { csvHeader, csvLine } from '../../../shared/csv';
import { AUDIT_CSV_COLUMNS, AuditQuerySchema, type AuditQuery, type AuditRecord } from '../../../shared/domain/audit';
import type { StoreClient } from '../../../shared/node/http/store-client';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { formatTable, oneLine, streamJsonList, streamTable } from '../output';
import { validateFlags, withFlagNames } from '../validate';

const FLAGS = { from: '--from', to: '--to', gate: '--gate', team: '--team', actor: '--actor', format: '--format' };
/** What `--format` prints: the API's formats, plus a table for a person (the default). */
const AuditFormatSchema = z.enum(['table', 'jsonl', 'csv', 'json']);

/** Records asked for per GET /v1/audit page (the route allows up to 10,000). */
export const AUDIT_PAGE = 5_000;

/**
 * `audit`: GET /v1/audit with the API's filters (time window, gate, team, actor), one record per
 * ledger event with the review status joined. The store is asked for JSON pages (keyset paging
 * on the ledger seq: none skipped or repeated, whatever is appended meanwhile) and each page is
 * written in the requested format, with the same column list (shared/domain/audit.ts) the API's
 * CSV uses, before the next is fetched: a year's audit (a million records, ~700 MB of JSON) goes
 * through in the memory of one page.
 */
export function registerAudit(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('audit')
      .description('audit records (who, what, when, why, which gate, who approved, review status), filtered like GET /v1/audit; auditor or admin')
      .option('--from <time>', 'events at or after this UTC time, e.g. 2026-01-01T00:00:00.000Z')
      .option('--to <time>', 'events before this UTC time (after --from)')
      .option('--gate <id>', 'only this gate')
      .option('--team <team>', "only this team's requests")
      .option('--actor <name>', 'only what this principal (or system) did')
      .option('--format <format>', 'table | jsonl | csv | json (default table; --json means json)'),
    'breakglass audit --from 2026-01-01T00:00:00.000Z --gate container-signing',
    'breakglass audit --team payments --format csv > q1-payments.csv',
    'breakglass audit --actor system --json',
  ).action(async (flags: { from?: string; to?: string; gate?: string; team?: string; actor?: string; format?: string }, cmd: Command) => {
    const json = ctx.globals(cmd).json;
    const format = validateFlags(AuditFormatSchema, flags.format ?? (json ? 'json' : 'table'), 'filters', { '': '--format' });
    const query = validateFlags(AuditQuerySchema, { from: flags.from, to: flags.to, gate: flags.gate, team: flags.team, actor: flags.actor, format: 'json' }, 'filters', FLAGS);
    const out = auditWriter(format, (text) => ctx.io.stdout(text));
    try {
      for await (const records of auditPages(ctx.client(cmd), query)) {
        out.page(records);
        await ctx.io.stdoutReady?.();
      }
    } catch (error) {
      throw withFlagNames(error, FLAGS);
    }
    out.end();
  });
}

/**
 * The audit matching `query`, a page of `pageSize` records at a time (keyset paging on the ledger
 * seq: GET /v1/audit's cursor), each fetched once the one before has been consumed.
 */
export async function* auditPages(client: StoreClient, query: Omit<AuditQuery, 'cursor' | 'limit'>, pageSize = AUDIT_PAGE): AsyncGenerator<AuditRecord[]> {
  let cursor = -1;
  for (;;) {
    const page = await client.call('audit', { query: { ...query, format: 'json', cursor, limit: pageSize } });
    if (page.records.length > 0) yield page.records;
    if (page.nextCursor === null || page.nextCursor === undefined) return;
    cursor = page.nextCursor;
  }
}

const TABLE_HEADERS = ['SEQ', 'TIME', 'ACTOR', 'ROLE', 'ACTION', 'TARGET', 'GATE', 'APPROVERS', 'REVIEW', 'REASON'];
const NO_RECORDS = 'no audit records match';

function tableRow(r: AuditRecord): string[] {
  return [
    String(r.seq),
    r.time,
    r.actor,
    r.actorRole,
    r.decision ? `${r.action}:${r.decision}` : r.action,
    r.target,
    r.gate ?? '-',
    r.approvers ?? '-',
    r.reviewStatus ? `${r.reviewStatus}${r.reviewFinding ? `/${r.reviewFinding}` : ''}` : '-',
    r.reason ? oneLine(r.reason.length > 50 ? `${r.reason.slice(0, 49)}…` : r.reason) : '-',
  ];
}

/** The audit as a table, all at once (what one page looks like). */
export function auditTable(records: readonly AuditRecord[]): string {
  return formatTable(TABLE_HEADERS, records.map(tableRow), NO_RECORDS);
}

/**
 * The records of successive pages written as one document in `format`, page by page: the same
 * text as formatting all the records at once (jsonl, csv, json: `JSON.stringify({ records },
 * null, 2)`), except that a table's columns are sized by the rows so far (streamTable).
 */
export function auditWriter(format: z.infer<typeof AuditFormatSchema>, write: (text: string) => void): { page(records: readonly AuditRecord[]): void; end(): void } {
  switch (format) {
    case 'jsonl':
      return { page: (records) => write(records.map((r) => `${JSON.stringify(r)}\n`).join('')), end: () => undefined };
    case 'csv':
      write(csvHeader(AUDIT_CSV_COLUMNS));
      return { page: (records) => write(records.map((r) => csvLine(AUDIT_CSV_COLUMNS, r)).join('')), end: () => undefined };
    case 'json': {
      const list = streamJsonList('records');
      return { page: (records) => write(list.items(records)), end: () => write(list.end()) };
    }
    case 'table': {
      const table = streamTable(TABLE_HEADERS);
      return {
        page: (records) => write(table.rows(records.map(tableRow))),
        end: () => write(table.end(NO_RECORDS)),
      };
    }
  }
}
