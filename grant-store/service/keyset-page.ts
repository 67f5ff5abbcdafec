import { decodePageCursor, encodePageCursor, type PageKey, type PagedList } from '../../shared/domain/page-cursor';
import { AppError } from '../../shared/errors';

/**
 * Rows read per batch once a page's first batch (its limit plus one) came back short of visible
 * rows: visibility filtered some out, so at least this many more are read at a time, which keeps
 * the round trips of a caller who sees few rows bounded, whatever the page size.
 */
const FOLLOW_UP_BATCH = 200;

/** One page of a keyset-paged list and the cursor of the next (null: no row follows). */
export interface KeysetPage<T> {
  rows: T[];
  nextCursor: string | null;
}

/**
 * The key a request's `cursor` holds (undefined: the first page). The query schema already
 * refused a malformed cursor; a direct caller that skipped it gets the same 400 naming `cursor`.
 */
export function pageKeyOf(list: PagedList, cursor: string | undefined): PageKey | undefined {
  if (cursor === undefined) return undefined;
  const decoded = decodePageCursor(list, cursor);
  if ('error' in decoded) throw new AppError('invalid_input', `invalid query: cursor: ${decoded.error}`, { fieldErrors: [{ path: 'cursor', message: decoded.error }] });
  return decoded.key;
}

/**
 * One page of `list` for a caller who may not see every row: `read` gives the rows after a key
 * in the list's order (SQL does the keyset condition, the filters it can and the limit), `keep`
 * is what only code can decide (visibility, eligibility). Batches are read after the last row
 * scanned until `limit` rows are kept and one more kept row shows that the list goes on, or the
 * rows run out. The next cursor is the key of the page's last row, a row the caller sees: a
 * cursor never names a row they may not see, and the next page starts right after it, so no row
 * is skipped or repeated.
 */
export async function keysetPage<T>(
  list: PagedList,
  read: (after: PageKey | undefined, limit: number) => Promise<T[]>,
  keyOf: (row: T) => PageKey,
  keep: (row: T) => boolean,
  after: PageKey | undefined,
  limit: number,
): Promise<KeysetPage<T>> {
  const rows: T[] = [];
  let scanned = after;
  let batch = limit + 1;
  for (;;) {
    const scannedRows = await read(scanned, batch);
    for (const row of scannedRows) {
      if (!keep(row)) continue;
      if (rows.length === limit) return { rows, nextCursor: encodePageCursor(list, keyOf(rows[limit - 1]!)) };
      rows.push(row);
    }
    if (scannedRows.length < batch) return { rows, nextCursor: null };
    scanned = keyOf(scannedRows[scannedRows.length - 1]!);
    batch = Math.max(limit + 1 - rows.length, FOLLOW_UP_BATCH);
  }
}
