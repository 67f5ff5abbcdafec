import { z } from 'zod';
import { fromBase64, toBase64 } from '../bytes';
import { RequestIdSchema, ReviewIdSchema, TimestampSchema } from './common';

/**
 * Keyset paging of the newest-first lists (GET /v1/requests, GET /v1/reviews): the `cursor` a
 * page answers as `nextCursor` is the sort key of the last row of that page, and the next page
 * holds the rows after it in the list's order. Nothing is skipped or repeated whatever is written
 * meanwhile (a row filed after the first page sorts before the cursor and is not on a later page).
 * The text is opaque to callers; this pair of functions is the one place that writes and reads it.
 */

/**
 * The lists paged this way and the ids their rows carry. Both are ordered newest first with the
 * id breaking ties: requests by (createdAt, id), reviews by (openedAt, id), descending.
 */
const PAGED_LISTS = {
  requests: { id: RequestIdSchema },
  reviews: { id: ReviewIdSchema },
} as const;
export type PagedList = keyof typeof PAGED_LISTS;

/** A row's place in its list: its time (createdAt of a request, openedAt of a review) and its id. */
export interface PageKey {
  at: string;
  id: string;
}

/** Rows per page when the query gives no `limit`, and the most a page may ask for (GET /v1/requests always had these). */
export const DEFAULT_PAGE_LIMIT = 500;
export const MAX_PAGE_LIMIT = 5_000;

/** A page size as a query string carries it. */
export const PageLimitSchema = z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT);

/** Version tag inside the cursor, so a later format can refuse (or read) older cursors by name. */
const CURSOR_VERSION = 'c1';
/** Longer than any cursor this writes (a version, a list name, a timestamp and a 36-character id, in base64url). */
const MAX_CURSOR_LENGTH = 128;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The cursor of the page after the row whose key is `key`, in `list`. */
export function encodePageCursor(list: PagedList, key: PageKey): string {
  const text = [CURSOR_VERSION, list, key.at, key.id].join('|');
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The key a cursor of `list` holds, or why `text` is not one (said to the caller who sent it:
 * a cursor is only ever a previous page's nextCursor of the same list).
 */
export function decodePageCursor(list: PagedList, text: string): { key: PageKey } | { error: string } {
  const refused = (why: string) => ({ error: `must be the nextCursor of an earlier page of ${list}: ${why}` });
  if (text.length === 0) return refused('it is empty');
  if (text.length > MAX_CURSOR_LENGTH) return refused(`it is longer than any cursor (${MAX_CURSOR_LENGTH} characters)`);
  if (!BASE64URL.test(text) || text.length % 4 === 1) return refused('it is not base64url text');
  let bytes: Uint8Array;
  try {
    // Strict decoding: one text per cursor (stray bits in the last symbol are refused).
    bytes = fromBase64(text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '='));
  } catch {
    return refused('it is not base64url text');
  }
  const decoded = String.fromCharCode(...bytes);
  const parts = decoded.split('|');
  if (parts.length !== 4 || parts[0] !== CURSOR_VERSION) return refused('it was not written by this store');
  const [, of, at, id] = parts as [string, string, string, string];
  if (of !== list) return refused(of in PAGED_LISTS ? `it is a cursor of ${of}` : 'it was not written by this store');
  if (!TimestampSchema.safeParse(at).success || !PAGED_LISTS[list].id.safeParse(id).success) return refused('it was not written by this store');
  return { key: { at, id } };
}

/**
 * The `cursor` query parameter of `list`: an opaque string, refused with the reason when it is not
 * a cursor of that list (400 naming `cursor`). The route's handler reads the key with
 * decodePageCursor.
 */
export function pageCursorSchema(list: PagedList) {
  return z.string().superRefine((text, ctx) => {
    const decoded = decodePageCursor(list, text);
    if ('error' in decoded) ctx.addIssue({ code: 'custom', message: decoded.error });
  });
}
