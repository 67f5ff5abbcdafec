import { canonicalJson } from '../canonical-json';
import type { LedgerEntry } from '../domain/ledger-entry';

/**
 * The store's operational state as the ledger says it must be: replaying the entries in seq
 * order rebuilds every request (its window, state, approvals, reason), every signed decision,
 * every enrolled or revoked key, every token and sign-in session (principal, roles, expiry) and
 * the policy in force. The store compares its tables with this projection on start and as
 * entries are appended (grant-store/ledger/projection-check.ts); a difference is a tamper alarm.
 *
 * Only what the entries carry is projected, field by field, so a new optional field elsewhere
 * never raises a false alarm; each projected field remembers the seq of the entry that set it,
 * so an alarm names the entry the table contradicts. Memory grows with requests, keys, tokens
 * and sessions, not with evaluations (which change no state and are skipped cheaply).
 */

/** The projected value of one field and the seq of the entry that set it. */
export interface Fact<T> {
  value: T;
  seq: number;
}

export interface ProjectedApproval {
  approver: string;
  keyId: string;
  hardwareBacked: boolean;
  ttl: string | null;
  comment: string;
  at: string;
  seq: number;
}

export interface ProjectedMessage {
  from: string;
  kind: 'question' | 'reply';
  text: string;
  at: string;
  seq: number;
}

export interface ProjectedRequest {
  id: string;
  createdSeq: number;
  /** Fixed at filing (the request_created entry). */
  requester: string;
  team: string;
  gate: string;
  scope: unknown;
  reason: string | null;
  incidentRef: string | null;
  severity: unknown;
  ttl: unknown;
  extends: unknown;
  createdAt: string;
  digest: unknown;
  tier: unknown;
  gateKind: unknown;
  standingScope: unknown;
  state: Fact<string>;
  approvals: ProjectedApproval[];
  messages: ProjectedMessage[];
  bypassId: Fact<string | null>;
  approvedTtl: Fact<string | null>;
  activatedAt: Fact<string | null>;
  expiresAt: Fact<string | null>;
  closedAt: Fact<string | null>;
  closedBy: Fact<string | null>;
  closeComment: Fact<string | null>;
}

export interface ProjectedDecision {
  seq: number;
  requestId: string;
  decision: string;
  approver: string;
  keyId: string;
  comment: string;
  ttl: string | null;
  at: string;
  signatureDigest: string;
  nonce: string;
  bundle: unknown;
}

export interface ProjectedKey {
  keyId: string;
  principal: string;
  publicKeyPem: string;
  hardwareBacked: boolean;
  /** The verified attestation the enrollment recorded (null: claimed or software, or a ledger from before attestations). */
  attestation: unknown;
  label: string | null;
  enrolledAt: string;
  enrolledSeq: number;
  revokedAt: Fact<string | null>;
}

export interface ProjectedToken {
  id: string;
  principal: string;
  roles: string[];
  createdAt: string;
  expiresAt: string | null;
  /** SHA-256 hex of the bearer, when the ledger recorded it (entries written since it does). */
  tokenHash: string | null;
  enrolledSeq: number;
  revokedAt: Fact<string | null>;
}

export interface ProjectedSession {
  id: string;
  principal: string;
  roles: string[];
  team: string | null;
  approverGroups: string[];
  createdAt: string;
  expiresAt: string | null;
  tokenHash: string | null;
  startedSeq: number;
  endedAt: Fact<string | null>;
}

export interface ProjectedReview {
  id: string;
  requestId: string;
  openedAt: string;
  openedSeq: number;
  state: Fact<'review_open' | 'reviewed'>;
  finding: Fact<string | null>;
  note: Fact<string | null>;
  completedBy: Fact<string | null>;
  completedAt: Fact<string | null>;
}

export interface StateProjection {
  /** Entries replayed (the projection is of the first `size` entries). */
  size: number;
  requests: Map<string, ProjectedRequest>;
  decisions: Map<number, ProjectedDecision>;
  keys: Map<string, ProjectedKey>;
  tokens: Map<string, ProjectedToken>;
  sessions: Map<string, ProjectedSession>;
  reviews: Map<string, ProjectedReview>;
  /** The hash of the policy in force (last policy_loaded entry), and where it was recorded. */
  policyHash: Fact<string> | null;
}

export function emptyProjection(): StateProjection {
  return { size: 0, requests: new Map(), decisions: new Map(), keys: new Map(), tokens: new Map(), sessions: new Map(), reviews: new Map(), policyHash: null };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const fact = <T>(value: T, seq: number): Fact<T> => ({ value, seq });

/** Entry types that change nothing the projection holds: skipped without looking further. */
const STATELESS = new Set<string>(['evaluation_under_bypass', 'alert_delivered', 'alert_failed']);

/** The canonical text of an evaluation entry ends like this (type is the last key in sorted order). */
export const EVALUATION_SUFFIX = '"type":"evaluation_under_bypass"}';

/**
 * Apply one entry (seq must be projection.size). Returns the ids touched, by table, so a live
 * check compares only those rows.
 */
export function projectEntry(p: StateProjection, entry: LedgerEntry): Array<{ table: ProjectedTable; id: string }> {
  if (entry.seq !== p.size) throw new RangeError(`projection at ${p.size} cannot apply entry ${entry.seq}`);
  p.size++;
  if (STATELESS.has(entry.type)) return [];
  const seq = entry.seq;
  const data = entry.data;
  const touched: Array<{ table: ProjectedTable; id: string }> = [];
  const request = (): ProjectedRequest | undefined => {
    const r = p.requests.get(entry.target);
    if (r) touched.push({ table: 'requests', id: r.id });
    return r;
  };
  const close = (r: ProjectedRequest, state: string, closedBy: string | null, comment: string | null) => {
    r.state = fact(state, seq);
    r.closedAt = fact(entry.time, seq);
    r.closedBy = fact(closedBy, seq);
    r.closeComment = fact(comment, seq);
  };
  switch (entry.type) {
    case 'policy_loaded': {
      const hash = str(data.hash);
      if (hash) p.policyHash = fact(hash, seq);
      touched.push({ table: 'meta', id: 'policy_hash' });
      break;
    }
    case 'request_created': {
      const none = (value: string | null) => fact(value, seq);
      p.requests.set(entry.target, {
        id: entry.target,
        createdSeq: seq,
        requester: entry.actor,
        team: str(data.team) ?? '',
        gate: entry.gate ?? '',
        scope: data.scope,
        reason: entry.reason,
        incidentRef: entry.incidentRef,
        severity: data.severity,
        ttl: data.ttl,
        extends: data.extends ?? null,
        createdAt: entry.time,
        digest: data.digest,
        tier: data.tier,
        gateKind: data.gateKind,
        standingScope: data.standingScope ?? null,
        state: fact('pending', seq),
        approvals: [],
        messages: [],
        bypassId: none(null),
        approvedTtl: none(null),
        activatedAt: none(null),
        expiresAt: none(null),
        closedAt: none(null),
        closedBy: none(null),
        closeComment: none(null),
      });
      touched.push({ table: 'requests', id: entry.target });
      break;
    }
    case 'info_requested': {
      const r = request();
      if (!r) break;
      r.state = fact('needs_info', seq);
      r.messages.push({ from: entry.actor, kind: 'question', text: str(data.question) ?? '', at: entry.time, seq });
      break;
    }
    case 'info_provided': {
      const r = request();
      if (!r) break;
      r.state = fact('pending', seq);
      r.messages.push({ from: entry.actor, kind: 'reply', text: str(data.message) ?? '', at: entry.time, seq });
      break;
    }
    case 'decision': {
      const decision = str(data.decision) ?? '';
      p.decisions.set(seq, {
        seq,
        requestId: entry.target,
        decision,
        approver: entry.actor,
        keyId: str(data.keyId) ?? '',
        comment: str(data.comment) ?? '',
        ttl: str(data.ttl),
        at: entry.time,
        signatureDigest: str(data.signatureDigest) ?? '',
        nonce: str(data.nonce) ?? '',
        bundle: data.bundle,
      });
      touched.push({ table: 'decisions', id: String(seq) });
      const r = request();
      if (!r) break;
      if (decision === 'approve') {
        r.approvals.push({ approver: entry.actor, keyId: str(data.keyId) ?? '', hardwareBacked: data.hardwareBacked === true, ttl: str(data.ttl), comment: str(data.comment) ?? '', at: entry.time, seq });
      } else if (decision === 'deny') {
        close(r, 'denied', entry.actor, str(data.comment));
      }
      break;
    }
    case 'bypass_activated': {
      const r = request();
      if (!r) break;
      r.state = fact('active', seq);
      r.bypassId = fact(str(data.bypassId), seq);
      r.approvedTtl = fact(str(data.ttl), seq);
      r.activatedAt = fact(str(data.activatedAt) ?? entry.time, seq);
      r.expiresAt = fact(entry.expiresAt, seq);
      break;
    }
    case 'bypass_expired': {
      const r = request();
      if (r) close(r, 'expired', null, str(data.comment));
      break;
    }
    case 'bypass_revoked': {
      const r = request();
      if (!r) break;
      close(r, 'revoked', entry.actor, str(data.comment));
      // A revoked bypass ends at its revocation.
      r.expiresAt = fact(entry.time, seq);
      break;
    }
    case 'request_cancelled': {
      const r = request();
      if (r) close(r, 'cancelled', entry.actor, str(data.comment));
      break;
    }
    case 'request_lapsed': {
      const r = request();
      if (r) close(r, 'lapsed', null, null);
      break;
    }
    case 'review_opened': {
      const id = str(data.reviewId);
      if (!id) break;
      p.reviews.set(id, {
        id,
        requestId: entry.target,
        openedAt: entry.time,
        openedSeq: seq,
        state: fact('review_open', seq),
        finding: fact(null, seq),
        note: fact(null, seq),
        completedBy: fact(null, seq),
        completedAt: fact(null, seq),
      });
      touched.push({ table: 'reviews', id });
      break;
    }
    case 'review_completed': {
      const review = p.reviews.get(str(data.reviewId) ?? '');
      if (!review) break;
      review.state = fact('reviewed', seq);
      review.finding = fact(str(data.finding), seq);
      review.note = fact(entry.reason, seq);
      review.completedBy = fact(entry.actor, seq);
      review.completedAt = fact(entry.time, seq);
      touched.push({ table: 'reviews', id: review.id });
      break;
    }
    case 'key_enrolled': {
      const keyId = str(data.keyId) ?? entry.target;
      p.keys.set(keyId, {
        keyId,
        principal: str(data.principal) ?? entry.approver ?? '',
        publicKeyPem: str(data.publicKeyPem) ?? '',
        hardwareBacked: data.hardwareBacked === true,
        attestation: data.attestation ?? null,
        label: str(data.label),
        enrolledAt: entry.time,
        enrolledSeq: seq,
        revokedAt: fact(null, seq),
      });
      touched.push({ table: 'keys', id: keyId });
      break;
    }
    case 'key_revoked': {
      const key = p.keys.get(str(data.keyId) ?? entry.target);
      if (!key) break;
      key.revokedAt = fact(entry.time, seq);
      touched.push({ table: 'keys', id: key.keyId });
      break;
    }
    case 'principal_enrolled': {
      const id = str(data.tokenId);
      if (!id) break;
      p.tokens.set(id, { id, principal: entry.target, roles: strings(data.roles), createdAt: entry.time, expiresAt: entry.expiresAt, tokenHash: str(data.tokenHash), enrolledSeq: seq, revokedAt: fact(null, seq) });
      touched.push({ table: 'tokens', id });
      break;
    }
    case 'token_revoked': {
      const token = p.tokens.get(str(data.tokenId) ?? '');
      if (!token) break;
      token.revokedAt = fact(entry.time, seq);
      touched.push({ table: 'tokens', id: token.id });
      break;
    }
    case 'session_started': {
      const id = str(data.sessionId) ?? entry.target;
      p.sessions.set(id, {
        id,
        principal: entry.actor,
        roles: strings(data.roles),
        team: str(data.team),
        approverGroups: strings(data.approverGroups),
        createdAt: entry.time,
        expiresAt: entry.expiresAt,
        tokenHash: str(data.tokenHash),
        startedSeq: seq,
        endedAt: fact(null, seq),
      });
      touched.push({ table: 'sessions', id });
      break;
    }
    case 'session_ended': {
      const session = p.sessions.get(str(data.sessionId) ?? entry.target);
      if (!session) break;
      session.endedAt = fact(entry.time, seq);
      touched.push({ table: 'sessions', id: session.id });
      break;
    }
    default:
      break;
  }
  return touched;
}

export type ProjectedTable = 'requests' | 'decisions' | 'keys' | 'tokens' | 'sessions' | 'reviews' | 'meta';

// ---------------------------------------------------------------------------------------------
// Comparing the tables with the projection.

/** One row as the store's tables hold it, in the shapes the Store interface returns. */
export interface RequestRow {
  /** The JSON document (what status, the console and reviews show). */
  doc: Record<string, unknown>;
  /** The indexed columns (what the gate, the sweeper and the lists query). */
  columns: { id: string; state: string; requester: string; team: string; gate: string; createdAt: string; activatedAt: string | null; expiresAt: string | null };
}

export interface TableSnapshot {
  /** Which rows this snapshot holds: all of them, or only the ids listed (a live check). */
  complete: boolean;
  requests: RequestRow[];
  decisions: Array<Record<string, unknown> & { seq: number }>;
  keys: Array<Record<string, unknown> & { keyId: string }>;
  tokens: Array<Record<string, unknown> & { id: string; tokenHash?: string }>;
  sessions: Array<Record<string, unknown> & { id: string; tokenHash?: string }>;
  reviews: Array<Record<string, unknown> & { id: string }>;
  policyHash: string | null;
}

/** A difference between a table and the ledger: what the tamper alarm reports. */
export interface StateMismatch {
  table: string;
  /** The row's key (request id, decision seq, key id, token id, ...). */
  row: string;
  field: string;
  /** The entry that says what the field must be (null for a row the ledger never wrote). */
  seq: number | null;
  expected: string;
  actual: string;
}

const show = (v: unknown): string => (v === undefined ? 'absent' : canonicalJson(v ?? null));
const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

function check(out: StateMismatch[], table: string, row: string, field: string, actual: unknown, expected: unknown, seq: number): void {
  if (!same(actual, expected)) out.push({ table, row, field, seq, expected: show(expected), actual: show(actual) });
}

function compareFields(out: StateMismatch[], table: string, row: string, actual: Record<string, unknown>, expected: Array<[string, unknown, number]>): void {
  for (const [field, value, seq] of expected) check(out, table, row, field, actual[field], value, seq);
}

function compareRequest(out: StateMismatch[], r: ProjectedRequest, row: RequestRow): void {
  const c = r.createdSeq;
  const doc = row.doc;
  compareFields(out, 'requests', r.id, doc, [
    ['requester', r.requester, c],
    ['team', r.team, c],
    ['gate', r.gate, c],
    ['scope', r.scope, c],
    ['reason', r.reason, c],
    ['incidentRef', r.incidentRef, c],
    ['severity', r.severity, c],
    ['ttl', r.ttl, c],
    ['extends', r.extends, c],
    ['createdAt', r.createdAt, c],
    ['digest', r.digest, c],
    ['tier', r.tier, c],
    ['gateKind', r.gateKind, c],
    ['standingScope', r.standingScope, c],
    ['state', r.state.value, r.state.seq],
    ['bypassId', r.bypassId.value, r.bypassId.seq],
    ['approvedTtl', r.approvedTtl.value, r.approvedTtl.seq],
    ['activatedAt', r.activatedAt.value, r.activatedAt.seq],
    ['expiresAt', r.expiresAt.value, r.expiresAt.seq],
    ['closedAt', r.closedAt.value, r.closedAt.seq],
    ['closedBy', r.closedBy.value, r.closedBy.seq],
    ['closeComment', r.closeComment.value, r.closeComment.seq],
  ]);
  const approvals = Array.isArray(doc.approvals) ? (doc.approvals as Array<Record<string, unknown>>) : [];
  if (approvals.length !== r.approvals.length) {
    const names = (list: Array<{ approver?: unknown }>) => list.map((a) => String(a.approver)).join(', ') || 'none';
    out.push({ table: 'requests', row: r.id, field: 'approvals', seq: r.approvals.at(-1)?.seq ?? c, expected: `${r.approvals.length} (${names(r.approvals)})`, actual: `${approvals.length} (${names(approvals)})` });
  } else {
    r.approvals.forEach((a, i) => {
      const held = approvals[i] ?? {};
      for (const [k, v] of Object.entries(a)) if (k !== 'seq') check(out, 'requests', r.id, `approvals.${i}.${k}`, held[k], v, a.seq);
    });
  }
  const expectedMessages = r.messages.map(({ seq: _seq, ...m }) => m);
  check(out, 'requests', r.id, 'messages', Array.isArray(doc.messages) ? doc.messages : [], expectedMessages, r.messages.at(-1)?.seq ?? c);
  // The indexed columns decide what the gate and the sweeper see: they must say the same.
  const col = row.columns;
  check(out, 'requests', r.id, 'column state', col.state, r.state.value, r.state.seq);
  check(out, 'requests', r.id, 'column requester', col.requester, r.requester, c);
  check(out, 'requests', r.id, 'column team', col.team, r.team, c);
  check(out, 'requests', r.id, 'column gate', col.gate, r.gate, c);
  check(out, 'requests', r.id, 'column created_at', col.createdAt, r.createdAt, c);
  check(out, 'requests', r.id, 'column activated_at', col.activatedAt, r.activatedAt.value, r.activatedAt.seq);
  check(out, 'requests', r.id, 'column expires_at', col.expiresAt, r.expiresAt.value, r.expiresAt.seq);
}

/**
 * Every difference between the tables and the projection: rows the ledger never wrote, rows it
 * wrote that are gone, and fields that say something else. With an incomplete snapshot (a live
 * check of some rows) only the rows present are compared.
 */
export function compareWithProjection(p: StateProjection, t: TableSnapshot): StateMismatch[] {
  const out: StateMismatch[] = [];
  const missing = (table: string, row: string, seq: number) => out.push({ table, row, field: '(row)', seq, expected: 'present', actual: 'absent: deleted' });
  const extra = (table: string, row: string) => out.push({ table, row, field: '(row)', seq: null, expected: 'absent: no ledger entry wrote it', actual: 'present' });

  const requestRows = new Map(t.requests.map((r) => [r.columns.id, r]));
  for (const row of t.requests) {
    const r = p.requests.get(row.columns.id);
    if (!r) extra('requests', row.columns.id);
    else compareRequest(out, r, row);
  }
  if (t.complete) for (const r of p.requests.values()) if (!requestRows.has(r.id)) missing('requests', r.id, r.createdSeq);

  const decisionRows = new Set<number>();
  for (const row of t.decisions) {
    decisionRows.add(row.seq);
    const d = p.decisions.get(row.seq);
    if (!d) {
      extra('decisions', String(row.seq));
      continue;
    }
    compareFields(out, 'decisions', String(d.seq), row, Object.entries(d).map(([k, v]) => [k, v, d.seq] as [string, unknown, number]));
  }
  if (t.complete) for (const d of p.decisions.values()) if (!decisionRows.has(d.seq)) missing('decisions', String(d.seq), d.seq);

  const keyRows = new Set<string>();
  for (const row of t.keys) {
    keyRows.add(row.keyId);
    const k = p.keys.get(row.keyId);
    if (!k) {
      extra('keys', row.keyId);
      continue;
    }
    compareFields(out, 'keys', k.keyId, row, [
      ['principal', k.principal, k.enrolledSeq],
      ['publicKeyPem', k.publicKeyPem, k.enrolledSeq],
      ['hardwareBacked', k.hardwareBacked, k.enrolledSeq],
      // A keys row edited to carry an attestation would let a claimed key approve an attested tier.
      ['attestation', k.attestation, k.enrolledSeq],
      ['label', k.label, k.enrolledSeq],
      ['enrolledAt', k.enrolledAt, k.enrolledSeq],
      ['revokedAt', k.revokedAt.value, k.revokedAt.seq],
    ]);
  }
  if (t.complete) for (const k of p.keys.values()) if (!keyRows.has(k.keyId)) missing('keys', k.keyId, k.enrolledSeq);

  const tokenRows = new Set<string>();
  for (const row of t.tokens) {
    tokenRows.add(row.id);
    const tok = p.tokens.get(row.id);
    if (!tok) {
      extra('tokens', row.id);
      continue;
    }
    const fields: Array<[string, unknown, number]> = [
      ['principal', tok.principal, tok.enrolledSeq],
      ['roles', tok.roles, tok.enrolledSeq],
      ['createdAt', tok.createdAt, tok.enrolledSeq],
      ['expiresAt', tok.expiresAt, tok.enrolledSeq],
      ['revokedAt', tok.revokedAt.value, tok.revokedAt.seq],
    ];
    if (tok.tokenHash !== null) fields.push(['tokenHash', tok.tokenHash, tok.enrolledSeq]);
    compareFields(out, 'tokens', tok.id, row, fields);
  }
  if (t.complete) for (const tok of p.tokens.values()) if (!tokenRows.has(tok.id)) missing('tokens', tok.id, tok.enrolledSeq);

  const sessionRows = new Set<string>();
  for (const row of t.sessions) {
    sessionRows.add(row.id);
    const s = p.sessions.get(row.id);
    if (!s) {
      extra('sessions', row.id);
      continue;
    }
    const fields: Array<[string, unknown, number]> = [
      ['principal', s.principal, s.startedSeq],
      ['roles', s.roles, s.startedSeq],
      ['team', s.team, s.startedSeq],
      ['approverGroups', s.approverGroups, s.startedSeq],
      ['createdAt', s.createdAt, s.startedSeq],
      ['expiresAt', s.expiresAt, s.startedSeq],
      ['endedAt', s.endedAt.value, s.endedAt.seq],
    ];
    if (s.tokenHash !== null) fields.push(['tokenHash', s.tokenHash, s.startedSeq]);
    compareFields(out, 'sessions', s.id, row, fields);
  }
  if (t.complete) for (const s of p.sessions.values()) if (!sessionRows.has(s.id)) missing('sessions', s.id, s.startedSeq);

  const reviewRows = new Set<string>();
  for (const row of t.reviews) {
    reviewRows.add(row.id);
    const r = p.reviews.get(row.id);
    if (!r) {
      extra('reviews', row.id);
      continue;
    }
    compareFields(out, 'reviews', r.id, row, [
      ['requestId', r.requestId, r.openedSeq],
      ['openedAt', r.openedAt, r.openedSeq],
      ['state', r.state.value, r.state.seq],
      ['finding', r.finding.value, r.finding.seq],
      ['note', r.note.value, r.note.seq],
      ['completedBy', r.completedBy.value, r.completedBy.seq],
      ['completedAt', r.completedAt.value, r.completedAt.seq],
    ]);
  }
  if (t.complete) for (const r of p.reviews.values()) if (!reviewRows.has(r.id)) missing('reviews', r.id, r.openedSeq);

  if (p.policyHash && t.policyHash !== null && t.policyHash !== p.policyHash.value) {
    out.push({ table: 'meta', row: 'policy_hash', field: 'value', seq: p.policyHash.seq, expected: p.policyHash.value, actual: t.policyHash });
  }
  return out;
}

/** One line for an alarm: "table requests, row req_…, field expiresAt: … (ledger entry 42 says …)". */
export function describeMismatch(m: StateMismatch): string {
  const where = m.seq === null ? 'no ledger entry wrote it' : `ledger entry ${m.seq} says ${m.expected}`;
  return `table ${m.table}, row ${m.row}, ${m.field === '(row)' ? 'the row' : `field ${m.field}`}: ${m.field === '(row)' ? m.actual : `holds ${m.actual}`} (${where})`;
}
