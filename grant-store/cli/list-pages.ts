import type { Command } from 'commander';
import { z } from 'zod';
import { displayText } from '../../shared/domain/display-text';
import { MAX_PAGE_LIMIT } from '../../shared/domain/page-cursor';
import type { CliContext } from './context';
import { streamJsonList, streamTable } from './output';
import { usageError } from './validate';

/**
 * The CLI's paged lists (`request list`, `review list`): GET /v1/requests and GET /v1/reviews
 * asked page by page (keyset cursors: none skipped or repeated, whatever is filed meanwhile),
 * each page written before the next is fetched, so a year's reviews never sit in memory whole.
 */

/** Rows asked for per page: the most the store answers at once. */
export const LIST_PAGE = MAX_PAGE_LIMIT;

/**
 * Internal: a smaller page than LIST_PAGE, so tests page through a few rows (the output is the
 * same whatever the page size).
 */
export const LIST_PAGE_ENV = 'BREAKGLASS_LIST_PAGE_SIZE';
const PageSizeSchema = z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT);

/** The page size in force: LIST_PAGE, or BREAKGLASS_LIST_PAGE_SIZE when set (1-5000, else a usage error naming it). */
export function listPageSize(env: NodeJS.ProcessEnv): number {
  const raw = env[LIST_PAGE_ENV];
  if (raw === undefined || raw === '') return LIST_PAGE;
  const parsed = PageSizeSchema.safeParse(raw);
  if (!parsed.success) throw usageError('environment', [{ path: LIST_PAGE_ENV, message: `must be a whole number of rows per page from 1 to ${MAX_PAGE_LIMIT} (got ${JSON.stringify(raw)})` }]);
  return parsed.data;
}

/** One page as the store answers it: its rows and the next page's cursor (null: the last page). */
export interface ListPage<T> {
  rows: T[];
  nextCursor: string | null;
}

/**
 * The rows of a paged list, page by page, at most `max` in all: each page asks for what is left
 * of `max` up to `pageSize`, and the next is fetched once the one before has been consumed.
 */
export async function* listPages<T>(fetchPage: (cursor: string | undefined, limit: number) => Promise<ListPage<T>>, pageSize: number, max = Number.POSITIVE_INFINITY): AsyncGenerator<T[]> {
  let cursor: string | undefined;
  let seen = 0;
  while (seen < max) {
    const page = await fetchPage(cursor, Math.min(pageSize, max - seen));
    seen += page.rows.length;
    if (page.rows.length > 0) yield page.rows;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

/** How a list is shown: its key in the JSON document, and its table. */
export interface ListView<T> {
  /** `--json` prints `{ "<key>": [ … ] }`, the same text as the whole list at once. */
  key: string;
  headers: string[];
  row: (item: T) => string[];
  /** What the table says when nothing matches. */
  empty: string;
}

/**
 * Write the pages as they arrive: `--json` as one document (streamJsonList), else a table whose
 * columns widen as later rows need (streamTable), with stored text made safe for a terminal as
 * ctx.emit does. Waits for stdout to drain between pages.
 */
export async function printListPages<T>(ctx: CliContext, cmd: Command, pages: AsyncIterable<T[]>, view: ListView<T>): Promise<void> {
  const json = ctx.globals(cmd).json;
  const write = json ? (text: string) => ctx.io.stdout(text) : (text: string) => ctx.io.stdout(displayText(text, 'multiline'));
  const document = streamJsonList(view.key);
  const table = streamTable(view.headers);
  for await (const items of pages) {
    write(json ? document.items(items) : table.rows(items.map(view.row)));
    await ctx.io.stdoutReady?.();
  }
  write(json ? document.end() : table.end(view.empty));
}
