import type { RequestFilter, ReviewFilter } from './store';

/**
 * The request and review list reads of both backends, one SQL text per filter (SQLite binds `?`,
 * PostgreSQL `$n`: `param` writes the n-th placeholder). Both lists are read newest first with
 * the id breaking ties, the order keyset paging walks (shared/domain/page-cursor.ts): `after`
 * is a row-value bound on that order, and the indexes of migration 14 end in (time, id) so each
 * filter's page is a range read in index order, never a sort of every matching row.
 */

type Param = (n: number) => string;
interface Query {
  sql: string;
  params: unknown[];
}

/** Parameters bound in order: `next(value)` adds one and writes its placeholder. */
function binder(param: Param, params: unknown[] = []): { params: unknown[]; next: (value: unknown) => string } {
  return {
    params,
    next: (value) => {
      params.push(value);
      return param(params.length);
    },
  };
}

/** The WHERE clause of a request filter (its `limit` is the caller's). */
export function requestWhereSql(param: Param, filter: RequestFilter): Query {
  const clauses: string[] = [];
  const { params, next } = binder(param);
  if (filter.states && filter.states.length > 0) clauses.push(`state IN (${filter.states.map((s) => next(s)).join(', ')})`);
  if (filter.requester) clauses.push(`requester = ${next(filter.requester)}`);
  if (filter.team) clauses.push(`team = ${next(filter.team)}`);
  if (filter.gate) clauses.push(`gate = ${next(filter.gate)}`);
  if (filter.createdSince) clauses.push(`created_at >= ${next(filter.createdSince)}`);
  if (filter.activatedSince) clauses.push(`activated_at >= ${next(filter.activatedSince)}`);
  if (filter.after) clauses.push(`(created_at, id) < (${next(filter.after.at)}, ${next(filter.after.id)})`);
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Requests matching `filter`, newest first (created_at, then id, descending), at most `filter.limit`. */
export function requestListSql(param: Param, filter: RequestFilter): Query {
  const where = requestWhereSql(param, filter);
  const { params, next } = binder(param, [...where.params]);
  const limit = filter.limit !== undefined ? ` LIMIT ${next(Math.floor(filter.limit))}` : '';
  return { sql: `SELECT doc FROM requests ${where.sql} ORDER BY created_at DESC, id DESC${limit}`, params };
}

/** Reviews matching `filter`, newest opened first (opened_at, then id, descending), at most `filter.limit`. */
export function reviewListSql(param: Param, filter: ReviewFilter): Query {
  const clauses: string[] = [];
  const { params, next } = binder(param);
  if (filter.state) clauses.push(`state = ${next(filter.state)}`);
  if (filter.after) clauses.push(`(opened_at, id) < (${next(filter.after.at)}, ${next(filter.after.id)})`);
  const where = clauses.length > 0 ? ` WHERE ${clauses.join(' AND ')}` : '';
  const limit = filter.limit !== undefined ? ` LIMIT ${next(Math.floor(filter.limit))}` : '';
  return { sql: `SELECT doc FROM reviews${where} ORDER BY opened_at DESC, id DESC${limit}`, params };
}
