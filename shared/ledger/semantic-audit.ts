import { canonicalJson } from '../canonical-json';
import { PolicySchema, type Policy } from '../domain/policy';
import { millisAfterSecond, type LedgerEntry } from '../domain/ledger-entry';
import type { Scope } from '../domain/common';
import type { RequestState } from '../domain/request';
import { ttlToMs, TtlSchema, type Ttl } from '../domain/ttl';
import { toHex, utf8 } from '../bytes';
import { scopeCovers } from '../policy/scope-match';
import { ineligibilityReason } from '../policy/separation-of-duties';
import { canApply, type RequestEvent } from '../policy/state-machine';
import { resolveGate, teamOf } from '../policy/tier-resolution';
import { effectiveTtl } from '../policy/ttl-limits';
import { emergencySignoffRefusal, emergencyTtl } from '../policy/emergency-rules';
import { decidePreApproval } from '../policy/pre-approval';
import { AppError } from '../errors';
import type { Incident } from '../domain/incident';
import { keyHardware, keyHardwareLabel, type AttestationRef, type KeyHardware } from '../domain/identity';
import type { Sha256 } from './tree-hasher';

/**
 * The semantic audit: replays the ledger through the request state machine and the policy in
 * force at each point (the content carried by the last policy_loaded entry before it) and
 * reports every entry the rules would have refused, with its seq. The hash checks prove the
 * ledger was not rewritten; this proves that what it records was allowed: a store bug, a
 * forged row that somehow got signed, or a database edited before the log was bound would all
 * show up here. Pure and streaming (one entry at a time, memory bounded by the number of
 * requests), so `ledger verify`, the console's mirror and the store share it.
 */

export type AuditViolationKind =
  /** A bypass activated without the required number of distinct, enrolled, unrevoked, eligible approvers. */
  | 'activation_without_approvals'
  /** The requester approved their own request. */
  | 'self_approval'
  /** An approver from the requester's team approved where the tier forbids it. */
  | 'same_team_approval'
  /** A decision by someone the policy does not allow to decide (group, hardware key, key state). */
  | 'ineligible_decision'
  /** A gate evaluation recorded under a bypass outside its active window. */
  | 'evaluation_outside_window'
  /** A gate evaluation recorded for a subject the bypass scope does not cover (or another gate). */
  | 'evaluation_outside_scope'
  /** An expiry recorded more than the tolerance after the window ended while the store was running. */
  | 'late_expiry'
  /** A post-incident review completed by the requester. */
  | 'review_by_requester'
  /** A transition the request state machine does not allow. */
  | 'illegal_transition'
  /** An entry about a request the ledger never created. */
  | 'unknown_request'
  /** A bypass window longer than what was asked and approved. */
  | 'window_exceeds_approval'
  /** A standing-scope activation the policy in force does not cover. */
  | 'standing_scope_invalid'
  /** A policy_loaded entry whose content does not match its recorded hash. */
  | 'policy_mismatch'
  /** A bypass opened with an emergency credential that was not sealed for it, by someone not holding it, or for longer than the tier's shortest TTL; a sign-off the emergency review does not allow. */
  | 'emergency_invalid'
  /** A bypass pre-approved by an incident that was not open, not assigned to the requester, or outside every pre-approval rule in force. */
  | 'pre_approval_invalid';

export interface AuditViolation {
  kind: AuditViolationKind;
  seq: number;
  /** The request (or review, key) the violation is about. */
  target: string;
  message: string;
}

export interface AuditCounts {
  entries: number;
  policies: number;
  requests: number;
  decisions: number;
  activations: number;
  evaluations: number;
  expiries: number;
  revocations: number;
  reviewsCompleted: number;
  /**
   * Decisions by the kind of key that signed them, as the key's enrollment recorded it: attested
   * (an attestation verified against a policy root), claimed (hardware by the admin's word) or software.
   */
  signedWith: Record<KeyHardware, number>;
  /** Entries replayed while no policy content was known (ledgers written before policy entries carried it). */
  withoutPolicy: number;
  /** Expiries recorded late only because the store was not running when the window ended (no other activity in between). */
  lateAfterDowntime: number;
  /**
   * Entries served redacted (outside the reader's tiers, shared/policy/visibility.ts): not replayed.
   * Requests are redacted whole, so what is replayed stays complete per request; only checks that
   * read across requests (an expiry late while the store was up) see less.
   */
  redacted: number;
}

export interface AuditReport {
  violations: AuditViolation[];
  counts: AuditCounts;
}

export interface SemanticAuditOptions {
  /** SHA-256, to check each policy entry's `source` against its recorded hash. */
  sha256?: Sha256;
  /** Parses a policy file's text (YAML, Node only): when given, the parsed source must equal the recorded policy. */
  parsePolicySource?: (source: string) => Policy;
  /** How late an expiry may be recorded (default one second: the store sweeps every 250 ms). */
  expiryToleranceMs?: number;
}

/** The store sweeps due bypasses every 250 ms; more than a second late is a failure to expire. */
export const DEFAULT_EXPIRY_TOLERANCE_MS = 1000;

interface Approval {
  approver: string;
  seq: number;
  ttl: Ttl | null;
  /** Why this approval does not count, or null when it does. */
  invalid: string | null;
}

export interface RequestState_ {
  id: string;
  requester: string;
  team: string;
  gate: string;
  scope: Scope;
  ttl: Ttl;
  standingScope: string | null;
  /** Tier approvals required when filed (0 for a standing scope). */
  approvalsRequired: number;
  state: RequestState;
  approvals: Approval[];
  activatedAtMs: number | null;
  expiresAtMs: number | null;
  /** First seq of an entry by someone other than the store that was written after this bypass should have expired. */
  overdueSeenSeq: number | null;
  reviewOpen: boolean;
  reviewed: boolean;
  /** The emergency credential that opened it (no approvals needed), from request_created. */
  emergencyCredential?: string | null;
  /** `<source>:<incident id>` of the incident that pre-approved it, from request_created. */
  preApprovedBy?: string | null;
  /** Sign-offs its review needs (an emergency use: two from outside the user's team), and those given. */
  signoffsRequired?: number;
  signoffs?: string[];
}

/** A sealed emergency credential as the ledger tells it (emergency_sealed, _used, _retired). */
export interface CredentialState {
  gate: string;
  scope: Scope;
  holders: string[];
  state: 'sealed' | 'used' | 'retired';
}

export interface KeyState {
  principal: string;
  hardwareBacked: boolean;
  /** The verified attestation its key_enrolled entry recorded (null: claimed or software). */
  attestation: AttestationRef | null;
  revoked: boolean;
}

/** `{kind, serial}` of a recorded attestation, or null when the value is not one. */
function attestationRef(value: unknown): AttestationRef | null {
  if (!value || typeof value !== 'object') return null;
  const { kind, serial } = value as Record<string, unknown>;
  return (kind === 'piv' || kind === 'tpm') && typeof serial === 'string' ? { kind, serial } : null;
}

const NOTHING_DUE: readonly string[] = Object.freeze([]);

/**
 * Date.parse of entry times, without parsing again the second the time before was in: a busy
 * ledger writes many entries a second, and Date.parse was a fifth of the audit's time per entry.
 * Only `YYYY-MM-DDTHH:MM:SS.mmmZ` (the form the schema lets through) is read from the second
 * parsed last, and not hour 24 (Date.parse takes 24:00:00.000 but no other instant of it);
 * anything else is Date.parse's (test/unit/shared/ledger/semantic-audit.test.ts holds the two equal).
 */
export class EntryTimes {
  /** The second (`YYYY-MM-DDTHH:MM:SS`) of the last time parsed, and Date.parse of it at .000Z. */
  private second = '';
  private secondMs = 0;

  ms(time: string): number {
    const millis = millisAfterSecond(time);
    if (millis < 0 || (time.charCodeAt(11) === 0x32 && time.charCodeAt(12) === 0x34)) return Date.parse(time);
    const second = time.slice(0, 19);
    if (second === this.second) return this.secondMs + millis;
    const ms = Date.parse(time);
    if (Number.isFinite(ms)) {
      this.second = second;
      this.secondMs = ms - millis;
    }
    return ms;
  }
}

/** A min-heap of (deadline, request id): which active bypasses are overdue at an entry's time. */
class DeadlineHeap {
  private readonly items: Array<{ at: number; id: string }> = [];

  push(at: number, id: string): void {
    const items = this.items;
    items.push({ at, id });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.at <= items[i]!.at) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }

  /** Remove and return every item due strictly before `now`. */
  popDue(now: number): readonly string[] {
    const items = this.items;
    // Nearly every entry finds nothing due: no array for it.
    if (items.length === 0 || items[0]!.at >= now) return NOTHING_DUE;
    const out: string[] = [];
    while (items.length > 0 && items[0]!.at < now) {
      out.push(items[0]!.id);
      const last = items.pop()!;
      if (items.length === 0) break;
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && items[l]!.at < items[m]!.at) m = l;
        if (r < items.length && items[r]!.at < items[m]!.at) m = r;
        if (m === i) break;
        [items[m], items[i]] = [items[i]!, items[m]!];
        i = m;
      }
    }
    return out;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A deep copy of plain request state (numbers, strings, arrays of plain objects). */
function copyRequest(r: RequestState_): RequestState_ {
  return { ...r, scope: { ...r.scope }, approvals: r.approvals.map((a) => ({ ...a })), ...(r.signoffs ? { signoffs: [...r.signoffs] } : {}) };
}

/**
 * What an auditor must remember to go on from a checkpoint (a client's incremental verify):
 * the policy in force, the keys, and every request whose story is not over. Requests that can
 * no longer change (denied, cancelled, lapsed, or closed and reviewed) are left out, so the
 * snapshot grows with open work, not with the ledger.
 */
export interface AuditSnapshot {
  /**
   * 3: `requests` are texts (requestText); 2: objects (still read). Version 1 lacked the keys'
   * attestations, so it cannot judge attested tiers: the caller starts over.
   */
  version: 2 | 3;
  policy: unknown;
  keys: Array<[string, KeyState]>;
  /**
   * Version 3: each request kept as its JSON text, led by what restore needs without parsing the
   * rest (requestText). A busy ledger keeps thousands (a week of CI bypasses, reviews owed) and an
   * incremental run names few of them again: restore indexes the texts, parses one when an entry
   * names it, and snapshot() hands the others back as they came. Version 2: objects.
   */
  requests: string[] | RequestState_[];
  /**
   * Ids of the requests whose story ended (left out above), so that an entry about one after the
   * checkpoint (its creation a second time above all) is still a finding. ~40 bytes a request
   * ever filed; absent in older snapshots.
   */
  finished?: string[];
  counts: AuditCounts;
  /** Sealed (still usable) emergency credentials and open incidents; absent in older snapshots. */
  credentials?: Array<[string, CredentialState]>;
  incidents?: Array<[string, Incident]>;
}

/** Whether restore reads a snapshot of this version (1 lacked the keys' attestations: the caller starts over). */
export function readsAuditSnapshotVersion(version: unknown): boolean {
  return version === 2 || version === 3;
}

/**
 * A kept request's text: its JSON led by id, state, expiresAtMs and overdueSeenSeq in that order
 * (REQUEST_HEAD reads them back), all a restore needs of a request no entry names again.
 */
function requestText(r: RequestState_): string {
  return JSON.stringify(Object.assign({ id: r.id, state: r.state, expiresAtMs: r.expiresAtMs, overdueSeenSeq: r.overdueSeenSeq }, r));
}

const REQUEST_HEAD = /^\{"id":"([^"\\]+)","state":"([a-z_]+)","expiresAtMs":(null|\d+),"overdueSeenSeq":(null|\d+)[,}]/;

/** A request text not parsed yet, and what its head says (never overdue: keep() parses those). */
interface KeptRequest {
  text: string;
  state: string;
  expiresAtMs: number | null;
}

/**
 * An entry cut to what the audit and the ledger verifier read of it, for handing entries from
 * a worker thread to the one that audits them: a gate evaluation under a bypass (nearly every
 * entry of a busy ledger) keeps its seq, time, type, actor, target, gate and subject; every
 * other entry is kept whole. SemanticAuditor.add gives the same findings for the view as for
 * the entry (test/unit/shared/ledger/semantic-audit.test.ts).
 */
export function auditView(entry: LedgerEntry): LedgerEntry {
  if (entry.type !== 'evaluation_under_bypass') return entry;
  return {
    seq: entry.seq,
    time: entry.time,
    type: entry.type,
    actor: entry.actor,
    actorRole: entry.actorRole,
    target: entry.target,
    gate: entry.gate,
    reason: null,
    incidentRef: null,
    approver: null,
    expiresAt: null,
    sourceAddress: null,
    data: 'subject' in entry.data ? { subject: entry.data.subject } : {},
  };
}

export class SemanticAuditor {
  private policy: Policy | undefined;
  private readonly requests = new Map<string, RequestState_>();
  /** Requests restored from a snapshot as texts and not named since (AuditSnapshot.requests, version 3). */
  private readonly kept = new Map<string, KeptRequest>();
  /** Requests a restored snapshot left out, their story over (AuditSnapshot.finished). */
  private readonly finished = new Set<string>();
  private readonly keys = new Map<string, KeyState>();
  private readonly credentials = new Map<string, CredentialState>();
  /** Incidents by `<source>:<id>`, as their latest incident_event says. */
  private readonly incidents = new Map<string, Incident>();
  private readonly deadlines = new DeadlineHeap();
  private readonly violations: AuditViolation[] = [];
  private readonly tolerance: number;
  private lastTimeMs = 0;
  private readonly times = new EntryTimes();
  readonly counts: AuditCounts = {
    entries: 0,
    policies: 0,
    requests: 0,
    decisions: 0,
    activations: 0,
    evaluations: 0,
    expiries: 0,
    revocations: 0,
    reviewsCompleted: 0,
    signedWith: { attested: 0, claimed: 0, software: 0 },
    withoutPolicy: 0,
    lateAfterDowntime: 0,
    redacted: 0,
  };

  constructor(private readonly options: SemanticAuditOptions = {}) {
    this.tolerance = options.expiryToleranceMs ?? DEFAULT_EXPIRY_TOLERANCE_MS;
  }

  /** The policy in force after the entries added so far (undefined before the first policy entry with content). */
  get policyInForce(): Policy | undefined {
    return this.policy;
  }

  private report(kind: AuditViolationKind, entry: LedgerEntry, message: string, target = entry.target): void {
    this.violations.push({ kind, seq: entry.seq, target, message });
  }

  /** An entry the reader may not see went by (redacted): counted, not replayed. */
  skipRedacted(_seq: number): void {
    this.counts.redacted++;
  }

  /** Replay one entry (entries must arrive in seq order). */
  add(entry: LedgerEntry): void {
    this.counts.entries++;
    const timeMs = this.times.ms(entry.time);
    if (!this.policy && entry.type !== 'policy_loaded') this.counts.withoutPolicy++;
    if (entry.actor !== 'system') {
      // Someone other than the store's own sweeper wrote this entry: the store was up. Any bypass
      // whose window ended before it (plus the tolerance) and is still active is overdue.
      for (const id of this.deadlines.popDue(timeMs)) {
        const request = this.lookup(id);
        if (request && request.state === 'active' && request.overdueSeenSeq === null) request.overdueSeenSeq = entry.seq;
      }
    }
    this.lastTimeMs = Math.max(this.lastTimeMs, timeMs);
    switch (entry.type) {
      case 'policy_loaded':
        return this.policyLoaded(entry);
      case 'key_enrolled': {
        const keyId = str(entry.data.keyId) ?? entry.target;
        const attestation = attestationRef(entry.data.attestation);
        this.keys.set(keyId, { principal: str(entry.data.principal) ?? entry.approver ?? '', hardwareBacked: entry.data.hardwareBacked === true || attestation !== null, attestation, revoked: false });
        return;
      }
      case 'key_revoked': {
        const key = this.keys.get(str(entry.data.keyId) ?? entry.target);
        if (key) key.revoked = true;
        return;
      }
      case 'request_created':
        return this.requestCreated(entry);
      case 'info_requested':
        return void this.transition(entry, 'request_info');
      case 'info_provided':
        return void this.transition(entry, 'reply');
      case 'request_cancelled':
        return void this.transition(entry, 'cancel');
      case 'request_lapsed':
        return void this.transition(entry, 'lapse');
      case 'decision':
        return this.decision(entry);
      case 'bypass_activated':
        return this.activated(entry);
      case 'evaluation_under_bypass':
        return this.evaluation(entry, timeMs);
      case 'bypass_expired':
        return this.expired(entry, timeMs);
      case 'bypass_revoked':
        return this.revoked(entry);
      case 'review_opened':
        return this.reviewOpened(entry);
      case 'review_completed':
        return this.reviewCompleted(entry);
      case 'review_signed':
        return this.reviewSigned(entry);
      case 'emergency_sealed':
        return this.credentialSealed(entry);
      case 'emergency_retired': {
        const credential = this.credentials.get(str(entry.data.credentialId) ?? entry.target);
        if (credential) credential.state = 'retired';
        return;
      }
      case 'emergency_used':
        return this.emergencyUsed(entry);
      case 'incident_event':
        return this.incidentEvent(entry);
      default:
        return;
    }
  }

  /** The state to resume from after the entries added so far (see AuditSnapshot). */
  snapshot(): AuditSnapshot {
    const texts: string[] = [];
    const finished = [...this.finished];
    for (const r of this.requests.values()) {
      const live = r.state === 'pending' || r.state === 'needs_info' || r.state === 'active' || ((r.state === 'expired' || r.state === 'revoked') && !r.reviewed);
      if (live) texts.push(requestText(r));
      else finished.push(r.id);
    }
    // Not named since they were restored, so unchanged: their texts go back as they came.
    for (const k of this.kept.values()) texts.push(k.text);
    return {
      version: 3,
      policy: this.policy ?? null,
      keys: [...this.keys],
      requests: texts,
      finished,
      counts: { ...this.counts },
      credentials: [...this.credentials].filter(([, c]) => c.state === 'sealed').map(([id, c]) => [id, { ...c, scope: { ...c.scope }, holders: [...c.holders] }]),
      incidents: [...this.incidents].filter(([, i]) => i.status !== 'resolved').map(([ref, i]) => [ref, { ...i }]),
    };
  }

  /** An auditor that continues from `snapshot` (taken by snapshot() after the same entries). */
  static restore(snapshot: AuditSnapshot, options: SemanticAuditOptions = {}): SemanticAuditor {
    const auditor = new SemanticAuditor(options);
    // An older snapshot lacks what later entries are judged by (the keys' attestations): the caller starts over.
    if (!readsAuditSnapshotVersion(snapshot.version)) throw new TypeError(`audit snapshot version ${String(snapshot.version)} is not one this version reads (2 or 3)`);
    auditor.policy = snapshot.policy === null ? undefined : PolicySchema.parse(snapshot.policy);
    for (const [id, key] of snapshot.keys) auditor.keys.set(id, { ...key });
    for (const [id, credential] of snapshot.credentials ?? []) auditor.credentials.set(id, { ...credential });
    for (const [ref, incident] of snapshot.incidents ?? []) auditor.incidents.set(ref, { ...incident });
    for (const kept of snapshot.requests) {
      if (typeof kept === 'string') auditor.keep(kept);
      else auditor.restoreRequest(copyRequest(kept));
    }
    for (const id of snapshot.finished ?? []) {
      if (auditor.requests.has(id) || auditor.kept.has(id)) throw new TypeError(`request ${id} is in the audit snapshot as open and as finished`);
      auditor.finished.add(id);
    }
    Object.assign(auditor.counts, snapshot.counts);
    return auditor;
  }

  private restoreRequest(request: RequestState_): void {
    if (this.requests.has(request.id) || this.kept.has(request.id)) throw new TypeError(`request ${request.id} is in the audit snapshot twice`);
    this.requests.set(request.id, request);
    if (request.overdueSeenSeq === null) this.dueAt(request.id, request);
  }

  /** An active bypass's deadline, for a request not yet found overdue (see add()). */
  private dueAt(id: string, r: { state: string; expiresAtMs: number | null }): void {
    if (r.state === 'active' && r.expiresAtMs !== null) this.deadlines.push(r.expiresAtMs + this.tolerance, id);
  }

  /** Index a request text by its head; one without the head (or overdue: finish() reports it) is parsed now. */
  private keep(text: string): void {
    const head = REQUEST_HEAD.exec(text);
    if (!head || head[4] !== 'null') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!parsed || typeof parsed !== 'object' || typeof (parsed as RequestState_).id !== 'string') throw new TypeError(`the audit snapshot holds something that is not a request: ${text.slice(0, 80)}`);
      this.restoreRequest(parsed as RequestState_);
      return;
    }
    const id = head[1]!;
    if (this.requests.has(id) || this.kept.has(id)) throw new TypeError(`request ${id} is in the audit snapshot twice`);
    const kept: KeptRequest = { text, state: head[2]!, expiresAtMs: head[3] === 'null' ? null : Number(head[3]) };
    this.kept.set(id, kept);
    this.dueAt(id, kept);
  }

  /**
   * A request by id; a kept text is parsed (and checked against its head) at its first mention
   * and becomes a live object. Kept texts are never overdue (keep() parses those), so finish()
   * need not look at the ones still unparsed.
   */
  private lookup(id: string): RequestState_ | undefined {
    const live = this.requests.get(id);
    if (live) return live;
    const kept = this.kept.get(id);
    if (kept === undefined) return undefined;
    let request: RequestState_ | undefined;
    try {
      request = JSON.parse(kept.text) as RequestState_;
    } catch {
      request = undefined;
    }
    if (!request || request.id !== id || request.state !== kept.state || request.expiresAtMs !== kept.expiresAtMs || request.overdueSeenSeq !== null) {
      throw new AppError('invalid_input', `the saved audit state is damaged (request ${id} does not read back as saved): verify again without --incremental`);
    }
    this.kept.delete(id);
    this.requests.set(id, request);
    return request;
  }

  /** The violations found, in seq order, with the counts of what was checked. */
  finish(): AuditReport {
    // A bypass still active long after its window, while the store kept writing, never expired.
    const violations = [...this.violations];
    for (const request of this.requests.values()) {
      if (request.state === 'active' && request.overdueSeenSeq !== null) {
        violations.push({
          kind: 'late_expiry',
          seq: request.overdueSeenSeq,
          target: request.id,
          message: `bypass on ${request.id} should have expired at ${new Date(request.expiresAtMs!).toISOString()}; entry ${request.overdueSeenSeq} was written after that and the ledger records no expiry`,
        });
      }
    }
    // By entry, then target: a resumed audit meets its requests in another order than a whole replay.
    violations.sort((a, b) => a.seq - b.seq || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
    return { violations, counts: { ...this.counts } };
  }

  private policyLoaded(entry: LedgerEntry): void {
    this.counts.policies++;
    const raw = entry.data.policy;
    if (raw === undefined) {
      // Older ledgers recorded only the policy's hash: from here on its rules are unknown.
      this.policy = undefined;
      return;
    }
    const parsed = PolicySchema.safeParse(raw);
    if (!parsed.success) {
      this.policy = undefined;
      const issue = parsed.error.issues[0];
      this.report('policy_mismatch', entry, `policy entry ${entry.seq} carries content that is not a valid policy (${issue?.path.join('.') || '(root)'}: ${issue?.message})`);
      return;
    }
    this.policy = parsed.data;
    const source = str(entry.data.source);
    const hash = str(entry.data.hash);
    if (source !== null && hash !== null && this.options.sha256) {
      const actual = `sha256:${toHex(this.options.sha256(utf8(source)))}`;
      if (actual !== hash) this.report('policy_mismatch', entry, `policy entry ${entry.seq}: the recorded file text hashes to ${actual}, the entry says ${hash}`);
    }
    if (source !== null && this.options.parsePolicySource) {
      let fromSource: Policy | undefined;
      try {
        fromSource = this.options.parsePolicySource(source);
      } catch (error) {
        this.report('policy_mismatch', entry, `policy entry ${entry.seq}: the recorded file text is not a valid policy (${(error as Error).message.split('\n')[0]})`);
      }
      if (fromSource && canonicalJson(fromSource) !== canonicalJson(parsed.data)) {
        this.report('policy_mismatch', entry, `policy entry ${entry.seq}: the recorded policy differs from what its file text says`);
      }
    }
  }

  private requestCreated(entry: LedgerEntry): void {
    this.counts.requests++;
    const data = entry.data;
    const scope = (data.scope && typeof data.scope === 'object' ? data.scope : {}) as Scope;
    const ttl = TtlSchema.safeParse(data.ttl);
    const standing = str(data.standingScope);
    const team = str(data.team) ?? '';
    const emergencyCredential = str(data.emergencyCredential);
    const pre = data.preApproval && typeof data.preApproval === 'object' ? (data.preApproval as Record<string, unknown>) : null;
    const preApprovedBy = pre ? `${str(pre.source) ?? '?'}:${str(pre.incidentId) ?? '?'}` : null;
    const tierApprovals = this.policy && entry.gate ? (resolveGate(this.policy, entry.gate)?.tier.approvals ?? 0) : 0;
    if (this.lookup(entry.target) || this.finished.has(entry.target)) {
      this.report('illegal_transition', entry, `request ${entry.target} is created a second time at entry ${entry.seq}`);
      return;
    }
    this.requests.set(entry.target, {
      id: entry.target,
      requester: entry.actor,
      team,
      gate: entry.gate ?? '',
      scope,
      ttl: ttl.success ? ttl.data : '1m',
      standingScope: standing,
      // The store may ask for more than the tier (a team over its budget): the entry says so.
      approvalsRequired: standing || emergencyCredential || preApprovedBy ? 0 : Math.max(tierApprovals, typeof data.approvalsRequired === 'number' ? data.approvalsRequired : 0),
      emergencyCredential,
      preApprovedBy,
      state: 'pending',
      approvals: [],
      activatedAtMs: null,
      expiresAtMs: null,
      overdueSeenSeq: null,
      reviewOpen: false,
      reviewed: false,
    });
  }

  private request(entry: LedgerEntry): RequestState_ | undefined {
    const request = this.lookup(entry.target);
    if (!request && this.finished.has(entry.target)) {
      // Its story ended before the checkpoint this audit resumed from, so nothing may follow.
      this.report('illegal_transition', entry, `entry ${entry.seq} (${entry.type}) is about request ${entry.target}, which was closed (denied, cancelled, lapsed, or reviewed after its bypass ended) before the checkpoint this audit resumed from`);
    } else if (!request) this.report('unknown_request', entry, `entry ${entry.seq} (${entry.type}) is about request ${entry.target}, which the ledger never created`);
    return request;
  }

  /** Apply a state-machine event; reports and returns false when it is not allowed. */
  private transition(entry: LedgerEntry, event: RequestEvent, request = this.request(entry)): boolean {
    if (!request) return false;
    if (!canApply(request.state, event)) {
      this.report('illegal_transition', entry, `entry ${entry.seq} (${entry.type}) applies "${event}" to request ${request.id}, which is ${request.state}`);
      return false;
    }
    const next: Record<RequestEvent, RequestState> = {
      request_info: 'needs_info',
      reply: 'pending',
      approve: 'pending',
      activate: 'active',
      deny: 'denied',
      cancel: 'cancelled',
      lapse: 'lapsed',
      expire: 'expired',
      revoke: 'revoked',
    };
    request.state = next[event];
    return true;
  }

  /** Why `entry.actor`'s key may not sign decisions at this point of the ledger, or null. */
  private keyProblem(entry: LedgerEntry): string | null {
    const keyId = str(entry.data.keyId);
    if (!keyId) return 'the decision names no key';
    const key = this.keys.get(keyId);
    if (!key) return `key ${keyId} is not enrolled at this point of the ledger`;
    if (key.revoked) return `key ${keyId} was revoked before this decision`;
    if (key.principal !== entry.actor) return `key ${keyId} is enrolled for ${key.principal}, not ${entry.actor}`;
    return this.hardwareRecordProblem(entry, key);
  }

  /**
   * Whether the decision entry describes its signing key as the key's enrollment did. Entries
   * from before decisions recorded it (no `hardware`, no `attestation`) are not held to it.
   */
  private hardwareRecordProblem(entry: LedgerEntry, key: KeyState): string | null {
    const enrolled = keyHardwareLabel(key);
    const hardware = entry.data.hardware;
    if (hardware !== undefined && hardware !== keyHardware(key)) return `the entry records the signing key as ${String(hardware)}, but it was enrolled ${enrolled}`;
    if (entry.data.attestation === undefined) return null;
    const recorded = attestationRef(entry.data.attestation);
    const same = recorded === null ? key.attestation === null : key.attestation !== null && recorded.kind === key.attestation.kind && recorded.serial === key.attestation.serial;
    return same ? null : `the entry records the signing key's attestation as ${recorded ? keyHardwareLabel({ hardwareBacked: true, attestation: recorded }) : 'none'}, but it was enrolled ${enrolled}`;
  }

  /** Why the signing key does not meet the tier's key requirement (hardware, attestation), or null. Judged by the key's enrollment, not by what the decision entry says. */
  private keyRequirementProblem(entry: LedgerEntry, tierName: string, tier: { hardwareKeyRequired: boolean; attestationRequired: boolean }): string | null {
    const key = this.keys.get(str(entry.data.keyId) ?? '');
    const hardwareBacked = key ? key.hardwareBacked : entry.data.hardwareBacked === true;
    if (tier.attestationRequired && !key?.attestation) return `tier ${tierName} requires an attested hardware key; the key was enrolled ${key ? keyHardwareLabel(key) : 'nowhere'}`;
    if (tier.hardwareKeyRequired && !hardwareBacked) return `tier ${tierName} requires a hardware-backed key`;
    return null;
  }

  private decision(entry: LedgerEntry): void {
    this.counts.decisions++;
    const request = this.request(entry);
    if (!request) return;
    const kind = str(entry.data.decision);
    const approver = entry.actor;
    const policy = this.policy;
    const keyProblem = this.keyProblem(entry);
    const signer = this.keys.get(str(entry.data.keyId) ?? '');
    if (signer) this.counts.signedWith[keyHardware(signer)]++;
    if (kind === 'approve') {
      if (!canApply(request.state, 'approve')) {
        this.report('illegal_transition', entry, `entry ${entry.seq}: ${approver} approves request ${request.id}, which is ${request.state}`);
        return;
      }
      let invalid: string | null = keyProblem;
      if (approver === request.requester) {
        invalid = 'the requester approved their own request';
        this.report('self_approval', entry, `entry ${entry.seq}: ${approver} approved their own request ${request.id}`);
      } else if (policy) {
        const resolved = resolveGate(policy, request.gate);
        if (resolved && !resolved.tier.allowSameTeam && teamOf(policy, approver) === request.team) {
          invalid = `tier ${resolved.tierName} forbids approvers from the requester's team (${request.team})`;
          this.report('same_team_approval', entry, `entry ${entry.seq}: ${approver} approved request ${request.id} from the requester's own team ${request.team}, which tier ${resolved.tierName} forbids`);
        } else {
          const reason = ineligibilityReason(policy, request, approver);
          const hardware = resolved ? this.keyRequirementProblem(entry, resolved.tierName, resolved.tier) : null;
          const why = reason ?? hardware ?? keyProblem;
          if (why) {
            invalid = why;
            this.report('ineligible_decision', entry, `entry ${entry.seq}: approval of ${request.id} by ${approver} does not count: ${why}`);
          }
        }
      } else if (keyProblem) {
        this.report('ineligible_decision', entry, `entry ${entry.seq}: approval of ${request.id} by ${approver} does not count: ${keyProblem}`);
      }
      if (!invalid && request.approvals.some((a) => a.approver === approver && a.invalid === null)) invalid = `${approver} had already approved`;
      const ttl = TtlSchema.safeParse(entry.data.ttl);
      request.approvals.push({ approver, seq: entry.seq, ttl: ttl.success ? ttl.data : null, invalid });
      return;
    }
    if (kind === 'deny' || kind === 'request_info') {
      if (!canApply(request.state, kind)) {
        this.report('illegal_transition', entry, `entry ${entry.seq}: a ${kind} decision on request ${request.id}, which is ${request.state}`);
        return;
      }
      const why = (policy ? ineligibilityReason(policy, request, approver) : approver === request.requester ? 'a requester can never decide on their own request' : undefined) ?? keyProblem;
      if (why) this.report('ineligible_decision', entry, `entry ${entry.seq}: ${kind} on ${request.id} by ${approver}: ${why}`);
      // deny closes the request here; request_info is followed by its info_requested entry.
      if (kind === 'deny') request.state = 'denied';
      return;
    }
    if (kind === 'revoke') {
      if (!canApply(request.state, 'revoke')) {
        this.report('illegal_transition', entry, `entry ${entry.seq}: a revoke decision on request ${request.id}, which is ${request.state}`);
        return;
      }
      const resolved = policy ? resolveGate(policy, request.gate) : undefined;
      const inGroup = !policy || (resolved?.tier.approverGroups ?? []).some((g) => policy.approvers[g]?.includes(approver));
      const why = (inGroup ? null : `${approver} is not in an approver group of the gate's tier`) ?? keyProblem;
      if (why) this.report('ineligible_decision', entry, `entry ${entry.seq}: revocation of ${request.id} by ${approver}: ${why}`);
    }
  }

  private activated(entry: LedgerEntry): void {
    this.counts.activations++;
    const request = this.request(entry);
    if (!request) return;
    if (!this.transition(entry, 'activate', request)) return;
    const activatedAt = Date.parse(str(entry.data.activatedAt) ?? entry.time);
    const expiresAt = entry.expiresAt ? Date.parse(entry.expiresAt) : NaN;
    request.activatedAtMs = activatedAt;
    request.expiresAtMs = Number.isNaN(expiresAt) ? activatedAt : expiresAt;
    this.deadlines.push(request.expiresAtMs + this.tolerance, request.id);
    const policy = this.policy;
    let allowedMs = ttlToMs(request.ttl);
    if (request.emergencyCredential) {
      allowedMs = this.emergencyActivation(entry, request, allowedMs);
    } else if (request.preApprovedBy) {
      this.preApprovedActivation(entry, request);
    } else if (request.standingScope) {
      const standing = policy?.standingScopes.find((s) => s.id === request.standingScope);
      const day = new Date(activatedAt).toISOString().slice(0, 10);
      if (policy && !standing) {
        this.report('standing_scope_invalid', entry, `entry ${entry.seq}: request ${request.id} activated under standing scope ${request.standingScope}, which the policy in force does not define`);
      } else if (standing) {
        if (standing.gate !== request.gate || standing.team !== request.team || !scopeCovers(standing.scope, request.scope)) {
          this.report('standing_scope_invalid', entry, `entry ${entry.seq}: standing scope ${standing.id} does not cover request ${request.id} (gate ${request.gate}, team ${request.team})`);
        } else if (day > standing.validUntil) {
          this.report('standing_scope_invalid', entry, `entry ${entry.seq}: standing scope ${standing.id} was valid until ${standing.validUntil}, used on ${day}`);
        }
        allowedMs = Math.min(allowedMs, ttlToMs(standing.maxTtl));
      }
    } else {
      const counted = request.approvals.filter((a) => a.invalid === null);
      const distinct = new Set(counted.map((a) => a.approver));
      const nowRequired = policy ? (resolveGate(policy, request.gate)?.tier.approvals ?? 0) : 0;
      const required = Math.max(request.approvalsRequired, nowRequired, 1);
      if (distinct.size < required) {
        const discarded = request.approvals.filter((a) => a.invalid !== null).map((a) => `${a.approver} at ${a.seq}: ${a.invalid}`);
        this.report(
          'activation_without_approvals',
          entry,
          `entry ${entry.seq}: request ${request.id} activated with ${distinct.size} valid distinct approval${distinct.size === 1 ? '' : 's'} (${[...distinct].join(', ') || 'none'}), ${required} required` +
            (discarded.length > 0 ? `; not counted: ${discarded.join('; ')}` : ''),
        );
      }
      const ttls = counted.map((a) => a.ttl).filter((t): t is Ttl => t !== null);
      if (ttls.length > 0) allowedMs = Math.min(allowedMs, ttlToMs(effectiveTtl(ttls)));
    }
    if (request.expiresAtMs - activatedAt > allowedMs) {
      this.report(
        'window_exceeds_approval',
        entry,
        `entry ${entry.seq}: bypass on ${request.id} runs ${Math.round((request.expiresAtMs - activatedAt) / 1000)} s, longer than the ${Math.round(allowedMs / 1000)} s asked and approved`,
      );
    }
  }

  private evaluation(entry: LedgerEntry, timeMs: number): void {
    this.counts.evaluations++;
    const request = this.request(entry);
    if (!request) return;
    if (request.state !== 'active' || request.activatedAtMs === null || timeMs < request.activatedAtMs || timeMs >= request.expiresAtMs!) {
      const window = request.activatedAtMs === null ? 'it was never activated' : `its window is ${new Date(request.activatedAtMs).toISOString()} to ${new Date(request.expiresAtMs!).toISOString()}, state ${request.state}`;
      this.report('evaluation_outside_window', entry, `entry ${entry.seq}: gate evaluation under the bypass of ${request.id} at ${entry.time}, but ${window}`);
      return;
    }
    const subject = (entry.data.subject && typeof entry.data.subject === 'object' ? entry.data.subject : {}) as Scope;
    if (entry.gate !== request.gate || !scopeCovers(request.scope, subject)) {
      this.report('evaluation_outside_scope', entry, `entry ${entry.seq}: evaluation of gate ${entry.gate} for ${canonicalJson(subject)} under the bypass of ${request.id} (gate ${request.gate}, scope ${canonicalJson(request.scope)}), which does not cover it`);
    }
  }

  private expired(entry: LedgerEntry, timeMs: number): void {
    this.counts.expiries++;
    const request = this.request(entry);
    if (!request) return;
    const wasActive = request.state === 'active';
    if (!this.transition(entry, 'expire', request)) return;
    // An emergency use's review opened with the bypass and stays open; no other can be open yet.
    if (!request.emergencyCredential) request.reviewOpen = false;
    if (!wasActive || request.expiresAtMs === null) return;
    if (timeMs < request.expiresAtMs) {
      this.report('illegal_transition', entry, `entry ${entry.seq}: bypass on ${request.id} recorded as expired at ${entry.time}, before its window ended (${new Date(request.expiresAtMs).toISOString()})`);
      return;
    }
    if (timeMs - request.expiresAtMs > this.tolerance) {
      if (request.overdueSeenSeq !== null && request.overdueSeenSeq < entry.seq) {
        this.report(
          'late_expiry',
          entry,
          `entry ${entry.seq}: bypass on ${request.id} expired ${((timeMs - request.expiresAtMs) / 1000).toFixed(1)} s after its window ended (${new Date(request.expiresAtMs).toISOString()}), while the store was running (entry ${request.overdueSeenSeq} was written in between)`,
        );
      } else {
        this.counts.lateAfterDowntime++;
      }
    }
  }

  private revoked(entry: LedgerEntry): void {
    this.counts.revocations++;
    const request = this.request(entry);
    if (!request) return;
    this.transition(entry, 'revoke', request);
  }

  private reviewOpened(entry: LedgerEntry): void {
    const request = this.request(entry);
    if (!request) return;
    const early = request.emergencyCredential && request.state === 'active';
    if (request.state !== 'expired' && request.state !== 'revoked' && !early) {
      this.report('illegal_transition', entry, `entry ${entry.seq}: a review opened on ${request.id}, which is ${request.state} (reviews open when a bypass ends${request.emergencyCredential ? '' : '; only an emergency use opens its review with the bypass'})`);
      return;
    }
    if (request.reviewOpen || request.reviewed) {
      this.report('illegal_transition', entry, `entry ${entry.seq}: a second review opened on ${request.id}`);
      return;
    }
    request.reviewOpen = true;
    if (request.emergencyCredential) {
      const policy = this.policy;
      const required = typeof entry.data.signoffsRequired === 'number' ? entry.data.signoffsRequired : 0;
      const minimum = policy?.emergency.reviewSignoffs ?? 2;
      if (required < minimum) this.report('emergency_invalid', entry, `entry ${entry.seq}: the review of emergency use ${request.id} asks for ${required} sign-off(s); the policy requires ${minimum}`);
      request.signoffsRequired = Math.max(required, minimum);
      request.signoffs = [];
    }
  }

  private reviewCompleted(entry: LedgerEntry): void {
    this.counts.reviewsCompleted++;
    const request = this.request(entry);
    if (!request) return;
    if (entry.actor === request.requester) {
      this.report('review_by_requester', entry, `entry ${entry.seq}: the review of ${request.id} was completed by its requester ${request.requester}`);
    }
    if (!request.reviewOpen) {
      this.report('illegal_transition', entry, `entry ${entry.seq}: the review of ${request.id} is completed but ${request.reviewed ? 'it was already completed' : 'none is open'}`);
      return;
    }
    if (request.signoffsRequired !== undefined && (request.signoffs?.length ?? 0) < request.signoffsRequired) {
      this.report('emergency_invalid', entry, `entry ${entry.seq}: the review of emergency use ${request.id} completed with ${request.signoffs?.length ?? 0} sign-off(s) (${(request.signoffs ?? []).join(', ') || 'none'}); it needs ${request.signoffsRequired} from outside team ${request.team}`);
    }
    request.reviewOpen = false;
    request.reviewed = true;
  }

  /** One sign-off of a review that needs several (an emergency use). */
  private reviewSigned(entry: LedgerEntry): void {
    const request = this.request(entry);
    if (!request) return;
    if (!request.reviewOpen || request.signoffsRequired === undefined) {
      this.report('illegal_transition', entry, `entry ${entry.seq}: ${entry.actor} signed off the review of ${request.id}, but no review needing sign-offs is open`);
      return;
    }
    if (request.signoffs?.includes(entry.actor)) {
      this.report('emergency_invalid', entry, `entry ${entry.seq}: ${entry.actor} signed off the review of ${request.id} a second time`);
      return;
    }
    const refusal = this.policy ? emergencySignoffRefusal(this.policy, request, entry.actor) : entry.actor === request.requester ? 'the user signed off their own use' : undefined;
    if (refusal) {
      this.report('emergency_invalid', entry, `entry ${entry.seq}: sign-off of ${request.id} by ${entry.actor} does not count: ${refusal}`);
      return;
    }
    request.signoffs = [...(request.signoffs ?? []), entry.actor];
  }

  private credentialSealed(entry: LedgerEntry): void {
    const id = str(entry.data.credentialId) ?? entry.target;
    const scope = (entry.data.scope && typeof entry.data.scope === 'object' ? entry.data.scope : {}) as Scope;
    const holders = Array.isArray(entry.data.holders) ? entry.data.holders.filter((h): h is string => typeof h === 'string') : [];
    this.credentials.set(id, { gate: entry.gate ?? '', scope, holders, state: 'sealed' });
  }

  /** emergency_used burns the credential; the activation that follows is checked against it. */
  private emergencyUsed(entry: LedgerEntry): void {
    const request = this.request(entry);
    const id = str(entry.data.credentialId) ?? '';
    const credential = this.credentials.get(id);
    if (!credential) {
      this.report('emergency_invalid', entry, `entry ${entry.seq}: emergency credential ${id || '(none)'} was used, but the ledger never sealed it (or it is no longer sealed)`);
      return;
    }
    if (credential.state !== 'sealed') this.report('emergency_invalid', entry, `entry ${entry.seq}: emergency credential ${id} was used while ${credential.state}`);
    else if (!credential.holders.includes(entry.actor)) this.report('emergency_invalid', entry, `entry ${entry.seq}: ${entry.actor} used emergency credential ${id}, held by ${credential.holders.join(', ')}`);
    else if (request && (request.gate !== credential.gate || !scopeCovers(credential.scope, request.scope) || !scopeCovers(request.scope, credential.scope))) {
      this.report('emergency_invalid', entry, `entry ${entry.seq}: emergency credential ${id} was sealed for gate ${credential.gate} ${canonicalJson(credential.scope)}, used for ${request.gate} ${canonicalJson(request.scope)}`);
    }
    credential.state = 'used';
    if (request && request.emergencyCredential !== id) this.report('emergency_invalid', entry, `entry ${entry.seq}: request ${request.id} was filed with credential ${request.emergencyCredential ?? 'none'}, used with ${id}`);
  }

  /** The window an emergency use may open (the tier's shortest TTL), and whether its use was recorded first. */
  private emergencyActivation(entry: LedgerEntry, request: RequestState_, allowedMs: number): number {
    const credential = this.credentials.get(request.emergencyCredential!);
    if (!credential || credential.state !== 'used') {
      this.report('emergency_invalid', entry, `entry ${entry.seq}: request ${request.id} activated with emergency credential ${request.emergencyCredential}, but no emergency_used entry burned it first`);
    }
    const ttl = this.policy ? emergencyTtl(this.policy, request.gate) : undefined;
    return ttl ? Math.min(allowedMs, ttlToMs(ttl)) : allowedMs;
  }

  private preApprovedActivation(entry: LedgerEntry, request: RequestState_): void {
    if (!this.policy) return;
    const ref = request.preApprovedBy!;
    const decision = decidePreApproval(this.policy, ref, this.incidents.get(ref), { requester: request.requester, gate: request.gate, scope: request.scope, ttl: request.ttl });
    if (!decision.ok) this.report('pre_approval_invalid', entry, `entry ${entry.seq}: request ${request.id} activated as pre-approved by incident ${ref}, which does not pre-approve it: ${decision.reason}`);
  }

  /** An incident's state after a verified webhook event (the store writes the state it applied). */
  private incidentEvent(entry: LedgerEntry): void {
    const d = entry.data;
    const source = str(d.source);
    const incidentId = str(d.incidentId);
    if (!source || !incidentId) return;
    const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    const status = str(d.status);
    this.incidents.set(`${source}:${incidentId}`, {
      source,
      incidentId,
      kind: (str(d.kind) ?? 'generic') as Incident['kind'],
      title: entry.reason,
      serviceId: str(d.serviceId),
      serviceName: str(d.serviceName),
      tags: list(d.tags),
      urgency: str(d.urgency),
      priority: str(d.priority),
      status: status === 'triggered' || status === 'acknowledged' ? status : 'resolved',
      assignees: list(d.assignees),
      updatedAt: str(d.updatedAt) ?? entry.time,
      eventSeq: entry.seq,
      payloadDigest: str(d.payloadDigest) ?? '',
    });
  }
}

/** Audit a whole ledger in memory (tests, small ledgers); streaming callers use SemanticAuditor. */
export function auditLedger(entries: Iterable<LedgerEntry>, options: SemanticAuditOptions = {}): AuditReport {
  const auditor = new SemanticAuditor(options);
  for (const entry of entries) auditor.add(entry);
  return auditor.finish();
}
