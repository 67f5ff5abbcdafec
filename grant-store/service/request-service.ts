import { RequestInputSchema, type BypassRequest, type CanonicalRequest, type RequestInput, type RequestState } from '../../shared/domain/request';
import { ttlToMs } from '../../shared/domain/ttl';
import { ListRequestsQuerySchema, type ListRequestsQuery, type RequestCreated, type RequestDetail } from '../../shared/domain/api';
import { AppError, parseOrThrow, type FieldError } from '../../shared/errors';
import { checkRequestAgainstPolicy } from '../../shared/policy/request-validation';
import { eligibleApprovers, ineligibilityReason } from '../../shared/policy/separation-of-duties';
import { scopesEqual } from '../../shared/policy/scope-match';
import { nextState } from '../../shared/policy/state-machine';
import { resolveGate, teamOf } from '../../shared/policy/tier-resolution';
import { requestDigest } from '../../shared/signing/request-digest';
import { signingKeyFacts, type EnrolledKey } from '../../shared/domain/identity';
import type { RequestFilter, StoreReader } from '../storage/store';
import { actingRole, requireRole } from './access';
import { activate } from './activation';
import { auditEntry } from './audit-entry';
import { newId, sha256 } from './ids';
import { requestAudit } from './request-audit';
import type { Caller, ServiceDeps } from './service-deps';
import { canSeeRequest, seesOnlyOwnRequests, type Viewer } from '../../shared/policy/visibility';
import type { Policy } from '../../shared/domain/policy';
import type { PageKey } from '../../shared/domain/page-cursor';
import { keysetPage, pageKeyOf } from './keyset-page';
import { parseIncidentCitation } from '../../shared/domain/incident';
import { decidePreApproval } from '../../shared/policy/pre-approval';
import { approvalsNeeded } from '../../shared/policy/budget';
import { teamBudgetStanding } from './budget-usage';

/**
 * File a request. Standing (pre-authorized) scopes activate on filing, and so does a request
 * that cites an open on-call incident (`--incident pagerduty:PGR0VU2`, a source of the policy's
 * `incidents:`) by one of its currently assigned responders, for a gate and scope a rule maps
 * the incident to (pre-approved by the incident; refused, with nothing written, otherwise).
 */
export async function createRequest(deps: ServiceDeps, caller: Caller, body: unknown): Promise<RequestCreated> {
  requireRole(caller, 'requester');
  deps.ledgerGuard?.assertGranting('request');
  const input: RequestInput = parseOrThrow(RequestInputSchema, body, 'request');
  const policy = deps.policies.policy;
  const team = teamOf(policy, caller.principal);
  if (!team) throw new AppError('forbidden', `${caller.principal} is not a member of any team in the policy; ask an admin to add them`);
  const now = deps.clock();
  const check = checkRequestAgainstPolicy(policy, input, team, now);
  const errors: FieldError[] = [...check.errors];
  const resolved = resolveGate(policy, input.gate);
  if (errors.length > 0 || !resolved) throw invalid(errors);

  const citation = input.incidentRef ? parseIncidentCitation(input.incidentRef, policy.incidents.sources.map((s) => s.id)) : undefined;

  return deps.store.transaction(async (tx) => {
    if (input.extends) {
      const extendErrors = await extensionErrors(tx, input, caller.principal, now);
      if (extendErrors.length > 0) throw invalid(extendErrors);
    }
    let preApproval: BypassRequest['preApproval'] = null;
    if (citation) {
      const incident = await tx.getIncident(citation.source, citation.incidentId);
      const decision = decidePreApproval(policy, input.incidentRef!, incident, { requester: caller.principal, gate: input.gate, scope: input.scope, ttl: input.ttl });
      if (!decision.ok) {
        throw new AppError('forbidden', `pre-approval refused: ${decision.reason}. (Citing ${citation.source}:<id> asks the incident to pre-approve; cite the incident without the "${citation.source}:" prefix to ask approvers instead.)`, { fieldErrors: [{ path: decision.field, message: decision.reason }] });
      }
      preApproval = { source: citation.source, incidentId: citation.incidentId, rule: decision.rule.id, payloadDigest: incident!.payloadDigest, eventSeq: incident!.eventSeq };
    }
    const standing = preApproval ? undefined : check.standing;
    const at = now.toISOString();
    // Approvers see the team's budget standing, and an over-budget team may need another approver.
    const budget = await teamBudgetStanding(tx, policy, team, now.getTime());
    const approvalsRequired = standing || preApproval ? 0 : approvalsNeeded(resolved.tier, budget);
    const canonical: CanonicalRequest = {
      id: newId('req'),
      requester: caller.principal,
      team,
      gate: input.gate,
      scope: input.scope,
      reason: input.reason,
      incidentRef: input.incidentRef ?? null,
      severity: input.severity,
      ttl: input.ttl,
      extends: input.extends ?? null,
      createdAt: at,
    };
    let request: BypassRequest = {
      ...canonical,
      digest: requestDigest(canonical, sha256),
      state: 'pending',
      tier: resolved.tierName,
      gateKind: resolved.gate.kind,
      approvalsRequired,
      approvals: [],
      messages: [],
      standingScope: standing?.id ?? null,
      bypassId: null,
      approvedTtl: null,
      activatedAt: null,
      expiresAt: null,
      closedAt: null,
      lapsesAt: standing || preApproval ? null : new Date(now.getTime() + ttlToMs(policy.decisionWindow)).toISOString(),
      updatedAt: at,
      closeComment: null,
      closedBy: null,
      emergencyCredential: null,
      budget,
      preApproval,
    };
    const entries = [
      auditEntry(at, 'request_created', caller, requestAudit(request, {
        actorRole: 'requester',
        data: { scope: request.scope, severity: request.severity, ttl: request.ttl, tier: request.tier, gateKind: request.gateKind, digest: request.digest, extends: request.extends, standingScope: request.standingScope, team, approvalsRequired, budget, ...(preApproval ? { preApproval } : {}) },
      })),
    ];
    if (preApproval) {
      request = activate(request, input.ttl, now);
      entries.push(
        auditEntry(at, 'bypass_activated', caller, requestAudit(request, {
          actorRole: 'requester',
          approver: `incident:${preApproval.source}:${preApproval.incidentId}`,
          data: { bypassId: request.bypassId, ttl: request.approvedTtl, activatedAt: request.activatedAt, preApproval },
        })),
      );
    } else if (standing) {
      request = activate(request, input.ttl, now);
      entries.push(
        auditEntry(at, 'bypass_activated', caller, requestAudit(request, {
          actorRole: 'requester',
          approver: standing.approvedBy.join(','),
          data: { bypassId: request.bypassId, ttl: request.approvedTtl, activatedAt: request.activatedAt, standingScope: standing.id },
        })),
      );
    }
    await tx.insertRequest(request);
    await tx.appendLedger(entries);
    return { request, approvers: eligibleApprovers(policy, request) };
  });
}

function invalid(fieldErrors: FieldError[]): AppError {
  const summary = fieldErrors.map((f) => `${f.path}: ${f.message}`).join('; ');
  return new AppError('invalid_input', `invalid request: ${summary}`, { fieldErrors });
}

/** An extension must point to an active bypass of the same requester, gate and scope. */
async function extensionErrors(reader: StoreReader, input: RequestInput, requester: string, now: Date): Promise<FieldError[]> {
  const target = await reader.getRequest(input.extends!);
  const fail = (message: string): FieldError[] => [{ path: 'extends', message }];
  if (!target) return fail(`request ${input.extends} does not exist`);
  if (target.state !== 'active' || !target.expiresAt || target.expiresAt <= now.toISOString()) return fail(`request ${target.id} is ${target.state}, not an active bypass`);
  if (target.requester !== requester) return fail(`request ${target.id} belongs to ${target.requester}: only your own bypass can be extended`);
  if (target.gate !== input.gate) return fail(`request ${target.id} is for gate ${target.gate}, not ${input.gate}`);
  if (!scopesEqual(target.scope, input.scope)) return fail(`request ${target.id} has a different scope: an extension keeps the same scope`);
  return [];
}

/** Load a request the caller may see, or 404 (also when hidden, so ids do not leak). */
export async function loadVisibleRequest(deps: ServiceDeps, caller: Caller, id: string, reader: StoreReader = deps.store): Promise<BypassRequest> {
  const request = await reader.getRequest(id);
  if (!request || !canSeeRequest(deps.policies.policy, caller, request)) throw new AppError('not_found', `request ${id} not found`);
  return request;
}

export async function getRequestDetail(deps: ServiceDeps, caller: Caller, id: string): Promise<RequestDetail> {
  const request = await loadVisibleRequest(deps, caller, id);
  const decisions = await deps.store.listDecisions(id);
  // Which kind of key signed each decision, as the key was enrolled (keys are never re-enrolled
  // under the same id, so this is what the decision's ledger entry recorded).
  const keys = new Map<string, EnrolledKey | undefined>();
  for (const d of decisions) if (!keys.has(d.keyId)) keys.set(d.keyId, await deps.store.getKey(d.keyId));
  return {
    request,
    decisions: decisions.map(({ signatureDigest: _s, nonce: _n, bundle: _b, ...record }) => {
      const key = keys.get(record.keyId);
      return key ? { ...record, ...signingKeyFacts(key) } : record;
    }),
    approvers: eligibleApprovers(deps.policies.policy, request),
  };
}

/** The states a request can await a decision in. */
const AWAITING_STATES: readonly RequestState[] = ['pending', 'needs_info'];

/**
 * A page of the requests `caller` may see, newest first (GET /v1/requests). What visibility
 * allows is pushed into SQL where it can be: a plain requester (on no notify list) only ever
 * sees their own, so the store reads theirs only; `awaiting=me` reads only undecided states.
 * The rest (an approver's tiers, a notify list, eligibility to decide) is checked per row, the
 * store reading further batches after the last row scanned until the page is full (keysetPage).
 */
export async function requestPage(store: StoreReader, policy: Policy, caller: Viewer, query: ListRequestsQuery): Promise<{ requests: BypassRequest[]; nextCursor: string | null }> {
  const after = pageKeyOf('requests', query.cursor);
  const asked: readonly RequestState[] | undefined = query.state === 'open' ? ['pending', 'needs_info', 'active'] : query.state ? [query.state] : undefined;
  // awaiting=me: only undecided requests can await anyone, so that filter goes into SQL too (an
  // approver's inbox must not read every request the store ever held).
  const states = query.awaiting === 'me' ? (asked ?? AWAITING_STATES).filter((s) => AWAITING_STATES.includes(s)) : asked;
  if (states && states.length === 0) return { requests: [], nextCursor: null };
  const ownOnly = seesOnlyOwnRequests(policy, caller);
  if (ownOnly && query.requester && query.requester !== caller.principal) return { requests: [], nextCursor: null };
  const filter: RequestFilter = { states, requester: ownOnly ? caller.principal : query.requester, team: query.team, gate: query.gate };
  const keep = (request: BypassRequest): boolean => {
    if (!canSeeRequest(policy, caller, request)) return false;
    if (query.awaiting !== 'me') return true;
    if (request.state !== 'pending' && request.state !== 'needs_info') return false;
    if (ineligibilityReason(policy, request, caller.principal) !== undefined) return false;
    return !request.approvals.some((a) => a.approver === caller.principal);
  };
  const page = await keysetPage('requests', (from, limit) => store.listRequests({ ...filter, after: from, limit }), requestKey, keep, after, query.limit);
  return { requests: page.rows, nextCursor: page.nextCursor };
}

/** A request's place in the list: createdAt, then id. */
const requestKey = (request: BypassRequest): PageKey => ({ at: request.createdAt, id: request.id });

export async function listRequests(deps: ServiceDeps, caller: Caller, rawQuery: unknown): Promise<{ requests: BypassRequest[]; nextCursor: string | null }> {
  const query: ListRequestsQuery = parseOrThrow(ListRequestsQuerySchema, rawQuery, 'query');
  return requestPage(deps.store, deps.policies.policy, caller, query);
}

/** The requester answers a needs_info question; the request goes back to pending. */
export async function replyToRequest(deps: ServiceDeps, caller: Caller, id: string, message: string): Promise<BypassRequest> {
  requireRole(caller, 'requester');
  return deps.store.transaction(async (tx) => {
    const request = await loadVisibleRequest(deps, caller, id, tx);
    if (request.requester !== caller.principal) throw new AppError('forbidden', `only ${request.requester} can reply on request ${id}`);
    const at = deps.clock().toISOString();
    const updated: BypassRequest = {
      ...request,
      state: nextState(request.state, 'reply'),
      messages: [...request.messages, { from: caller.principal, kind: 'reply', text: message, at }],
      updatedAt: at,
    };
    await tx.updateRequest(updated);
    await tx.appendLedger([auditEntry(at, 'info_provided', caller, requestAudit(updated, { actorRole: 'requester', data: { message } }))]);
    return updated;
  });
}

/** The requester withdraws a pending / needs_info request. */
export async function cancelRequest(deps: ServiceDeps, caller: Caller, id: string, comment: string | undefined): Promise<BypassRequest> {
  requireRole(caller, 'requester', 'admin');
  return deps.store.transaction(async (tx) => {
    const request = await loadVisibleRequest(deps, caller, id, tx);
    if (request.requester !== caller.principal && !caller.roles.includes('admin')) throw new AppError('forbidden', `only ${request.requester} can cancel request ${id}`);
    const at = deps.clock().toISOString();
    const updated: BypassRequest = {
      ...request,
      state: nextState(request.state, 'cancel'),
      closedAt: at,
      closedBy: caller.principal,
      closeComment: comment ?? null,
      updatedAt: at,
    };
    await tx.updateRequest(updated);
    await tx.appendLedger([auditEntry(at, 'request_cancelled', caller, requestAudit(updated, { actorRole: actingRole(caller, 'requester', 'admin'), data: { comment: comment ?? null } }))]);
    return updated;
  });
}
