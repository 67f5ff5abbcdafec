import type { LedgerFilter } from './store';

/** How one backend spells the ledger's indexed expressions (they must match its migration's indexes). */
export interface LedgerDialect {
  param: (n: number) => string;
  /** The entry's gate, as indexed (ledger_entries_gate). */
  gateExpr: string;
  /** The entry's actor, as indexed (ledger_entries_actor). */
  actorExpr: string;
  /** The entry's actor read row by row, where no index is matched: the cheapest way to parse it. */
  actorValueExpr: string;
  /**
   * Pins a FROM to one of our indexes where the planner would pick a worse one (SQLite:
   * `INDEXED BY name`, which fails loudly if the index cannot serve the query; PostgreSQL has no
   * hint and plans these from its statistics: '').
   */
  indexedBy: (index: string) => string;
}

/**
 * SELECT seq, entry_json for StoreReader.auditEntries: every filter in SQL, keyset paging on
 * seq (`seq > afterSeq ORDER BY seq LIMIT`), so a page costs the same at any ledger size and
 * position. A time filter is tested row by row: the caller bounds seq to its window first
 * (filter.minSeq / maxSeq from ledgerSeqRangeSql). The team filter keeps the entries about a request of the team and every entry not
 * about a request (target not req_…), which the caller judges on its join.
 */
export function auditEntriesSql(d: LedgerDialect, filter: LedgerFilter, afterSeq: number, limit: number): { sql: string; params: unknown[] } {
  // One lower bound on seq (the cursor or the window's first seq, whichever is later), so the
  // planner's range on seq (rowid, or the gate/actor index's second column) starts there.
  const params: unknown[] = [filter.minSeq !== undefined ? Math.max(afterSeq, filter.minSeq - 1) : afterSeq];
  const clauses = [`seq > ${d.param(1)}`];
  const add = (clause: (p: string) => string, value: unknown) => clauses.push(clause(d.param(params.push(value))));
  if (filter.maxSeq !== undefined) add((p) => `seq <= ${p}`, filter.maxSeq);
  if (filter.from !== undefined) add((p) => `time >= ${p}`, filter.from);
  if (filter.to !== undefined) add((p) => `time < ${p}`, filter.to);
  if (filter.gate !== undefined) add((p) => `${d.gateExpr} = ${p}`, filter.gate);
  if (filter.actor !== undefined) add((p) => `${d.actorExpr} = ${p}`, filter.actor);
  if (filter.types !== undefined && filter.types.length > 0) {
    const ps = filter.types.map((t) => d.param(params.push(t)));
    clauses.push(`type IN (${ps.join(', ')})`);
  }
  if (filter.team !== undefined) add((p) => `(target IN (SELECT id FROM requests WHERE team = ${p}) OR substr(target, 1, 4) <> 'req_')`, filter.team);
  const limitParam = d.param(params.push(limit));
  return { sql: `SELECT seq, entry_json FROM ledger_entries WHERE ${clauses.join(' AND ')} ORDER BY seq LIMIT ${limitParam}`, params };
}

/**
 * SELECT first, last for StoreReader.ledgerSeqRange: MIN and MAX seq over the time index's range
 * [from, to), exact whatever the order of times across seqs. Reading the window from the index
 * costs its entries (an empty recent window: a single index probe); the keyset query then walks
 * seq between these bounds instead of testing the time of every entry after the cursor.
 */
export function ledgerSeqRangeSql(d: LedgerDialect, from: string, to: string | undefined): { sql: string; params: unknown[] } {
  const params: unknown[] = [from];
  const window = [`time >= ${d.param(1)}`];
  if (to !== undefined) window.push(`time < ${d.param(params.push(to))}`);
  // seq + 0: PostgreSQL would otherwise answer MIN/MAX(seq) by walking the primary key from
  // either end testing each entry's time (its min/max rewrite), which costs every entry before
  // the window; as an expression, the aggregate reads the window from the time index, index
  // only (SQLite: the rowid in ledger_entries_time; PostgreSQL: (time, seq), migration 13).
  return { sql: `SELECT MIN(seq + 0) AS first, MAX(seq + 0) AS last FROM ledger_entries${d.indexedBy('ledger_entries_time')} WHERE ${window.join(' AND ')}`, params };
}

/** Entries other than warns after a seq, through the partial index ledger_entries_lifecycle. */
export function lifecycleEntriesSql(param: (n: number) => string): string {
  return `SELECT seq, entry_json FROM ledger_entries WHERE type <> 'evaluation_under_bypass' AND seq > ${param(1)} ORDER BY seq LIMIT ${param(2)}`;
}

/** Which entries besides a principal's own requests' may notify them (see notificationScope in alerts/notifications.ts). */
export interface NotificationScope {
  /** Gates whose request_created and bypass_activated entries they are told of (a critical tier's notify list). */
  notifyGates: readonly string[];
  /** Told of every emergency use and refusal (else only of their own). */
  emergencyAudience: boolean;
}

/** The entry kinds a requester is told of about their own request (ledger_requester_feed, migration 12, holds exactly these). */
export const REQUESTER_NOTIFICATION_KINDS = ['decision', 'bypass_activated', 'bypass_expired', 'bypass_revoked', 'request_lapsed', 'review_opened'] as const;
/** The entry kinds a tier's notify list is told of. */
export const NOTIFY_LIST_KINDS = ['request_created', 'bypass_activated'] as const;

/**
 * SELECT seq, entry_json for StoreReader.notificationEntries: the union of indexed ranges from
 * `afterSeq`, each cut at `limit`: the requester's feed (ledger_requester_feed), each notify-list
 * gate's lifecycle entries (ledger_entries_gate_lifecycle) and the emergency entries
 * (ledger_entries_emergency). The cost follows `limit`, not the ledger's size.
 */
export function notificationEntriesSql(d: LedgerDialect, principal: string, scope: NotificationScope, afterSeq: number, limit: number): { sql: string; params: unknown[] } {
  // One parameter per placeholder, in text order (SQLite's ? placeholders are positional).
  const params: unknown[] = [];
  const p = (value: unknown) => d.param(params.push(value));
  const after = () => p(afterSeq);
  const lim = () => p(limit);
  const parts = [
    `SELECT e.seq, e.entry_json FROM ledger_requester_feed f JOIN ledger_entries e ON e.seq = f.seq WHERE f.requester = ${p(principal)} AND f.seq > ${after()} ORDER BY f.seq LIMIT ${lim()}`,
  ];
  const notifyKinds = NOTIFY_LIST_KINDS.map((k) => `'${k}'`).join(', ');
  for (const gate of scope.notifyGates) {
    parts.push(`SELECT seq, entry_json FROM ledger_entries${d.indexedBy('ledger_entries_gate_lifecycle')} WHERE ${d.gateExpr} = ${p(gate)} AND type <> 'evaluation_under_bypass' AND seq > ${after()} AND type IN (${notifyKinds}) ORDER BY seq LIMIT ${lim()}`);
  }
  // Pinned to the emergency index: with an actor given, SQLite otherwise walks the actor's
  // entries (every request they filed) testing each one's type, which grows with the ledger.
  const emergency = `SELECT seq, entry_json FROM ledger_entries${d.indexedBy('ledger_entries_emergency')} WHERE type IN ('emergency_used', 'emergency_refused') AND seq > ${after()}`;
  parts.push(`${emergency}${scope.emergencyAudience ? '' : ` AND ${d.actorExpr} = ${p(principal)}`} ORDER BY seq LIMIT ${lim()}`);
  const union = parts.map((sql, i) => `SELECT seq, entry_json FROM (${sql}) AS n${i}`).join(' UNION ');
  return { sql: `${union} ORDER BY seq LIMIT ${lim()}`, params };
}

/** A row of ledgerRunsSql: an entry shown of its run, with the run's number and size. */
export interface LedgerRunRow {
  run: number;
  n: number;
  entry_json: string;
}

/**
 * SELECT run, n, entry_json for StoreReader.ledgerRunsForTarget: a target's entries after
 * `afterSeq` (but the `except` types; the first `limit` of them) numbered into runs of
 * consecutive entries of one type by one actor (a run starts where type or actor differs from
 * the entry before; window functions, so the entries between a long run's ends are counted on
 * the target index, not read out), then the entries shown: all of a run of at most `keepUpTo`,
 * else its first and last, in seq order.
 */
export function ledgerRunsSql(d: LedgerDialect, target: string, except: readonly string[], keepUpTo: number, afterSeq: number, limit?: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [target, afterSeq];
  const notIn = except.length > 0 ? ` AND type NOT IN (${except.map((t) => d.param(params.push(t))).join(', ')})` : '';
  const first = limit !== undefined ? ` ORDER BY seq LIMIT ${d.param(params.push(limit))}` : '';
  const keep = d.param(params.push(keepUpTo));
  const sql = `WITH e AS (SELECT seq, type, ${d.actorValueExpr} AS actor FROM ledger_entries WHERE target = ${d.param(1)} AND seq > ${d.param(2)}${notIn}${first}),
    s AS (SELECT seq, CASE WHEN type = LAG(type) OVER (ORDER BY seq) AND actor = LAG(actor) OVER (ORDER BY seq) THEN 0 ELSE 1 END AS starts FROM e),
    g AS (SELECT seq, SUM(starts) OVER (ORDER BY seq) AS run FROM s),
    r AS (SELECT run, MIN(seq) AS first, MAX(seq) AS last, COUNT(*) AS n FROM g GROUP BY run),
    w AS MATERIALIZED (SELECT g.seq, g.run, r.n FROM g JOIN r ON r.run = g.run WHERE r.n <= ${keep} OR g.seq = r.first OR g.seq = r.last)
    SELECT CAST(w.run AS INTEGER) AS run, CAST(w.n AS INTEGER) AS n, l.entry_json FROM w JOIN ledger_entries l ON l.seq = w.seq ORDER BY w.seq`;
  return { sql, params };
}
