import type { LedgerFilter } from './store';

/** How one backend spells the ledger's indexed expressions (they must match its migration's indexes). */
export interface LedgerDialect {
  param: (n: number) => string;
  /** The entry's gate, as indexed (ledger_entries_gate). */
  gateExpr: string;
  /** The entry's actor, as indexed (ledger_entries_actor). */
  actorExpr: string;
}

/**
 * SELECT seq, entry_json for StoreReader.auditEntries: every filter in SQL, keyset paging on
 * seq (`seq > afterSeq ORDER BY seq LIMIT`), so a page costs the same at any ledger size and
 * position. The team filter keeps the entries about a request of the team and every entry not
 * about a request (target not req_…), which the caller judges on its join.
 */
export function auditEntriesSql(d: LedgerDialect, filter: LedgerFilter, afterSeq: number, limit: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [afterSeq];
  const clauses = [`seq > ${d.param(1)}`];
  const add = (clause: (p: string) => string, value: unknown) => clauses.push(clause(d.param(params.push(value))));
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

/** Entries other than warns after a seq, through the partial index ledger_entries_lifecycle. */
export function lifecycleEntriesSql(param: (n: number) => string): string {
  return `SELECT seq, entry_json FROM ledger_entries WHERE type <> 'evaluation_under_bypass' AND seq > ${param(1)} ORDER BY seq LIMIT ${param(2)}`;
}
