import type { BypassRequest } from '../../shared/domain/request';
import type { Policy } from '../../shared/domain/policy';
import type { Review } from '../../shared/domain/review';
import { reviewAssignees } from '../../shared/policy/review-assignment';
import { nextState } from '../../shared/policy/state-machine';
import type { StoreTx } from '../storage/store';
import { actingRole } from './access';
import { auditEntry } from './audit-entry';
import { newId } from './ids';
import { requestAudit } from './request-audit';
import type { Caller } from './service-deps';
import { timelineOf, type TimelineSoFar } from './timeline';
import { timelineEntries } from '../../shared/domain/review-timeline';

/**
 * End an active bypass (expiry by the store, or revocation by an approver) and open its
 * post-incident review in the same transaction. The caller must have re-read `request` inside
 * `tx`; the state machine refuses a second closure, and the reviews table has one row per
 * request, so each closure and each review opening happens exactly once. The review is assigned
 * under `policy` (the one in force now): see shared/policy/review-assignment. `soFar`: the
 * review's timeline read before the transaction (timelineSoFar), so that only the entries since
 * are read while it holds the store's writes.
 */
export async function closeBypass(
  tx: StoreTx,
  request: BypassRequest,
  how: 'expire' | 'revoke',
  caller: Caller,
  now: Date,
  comment: string | null,
  policy: Policy,
  soFar?: TimelineSoFar,
): Promise<{ request: BypassRequest; review: Review }> {
  const at = now.toISOString();
  const closed: BypassRequest = {
    ...request,
    state: nextState(request.state, how),
    closedAt: at,
    closedBy: how === 'expire' ? null : caller.principal,
    closeComment: comment,
    // A revoked bypass ends now; an expired one ended at its window's end.
    expiresAt: how === 'revoke' ? at : request.expiresAt,
    updatedAt: at,
  };
  await tx.updateRequest(closed);
  await tx.appendLedger([
    auditEntry(at, how === 'expire' ? 'bypass_expired' : 'bypass_revoked', caller, requestAudit(closed, {
      actorRole: actingRole(caller, 'approver', 'admin'),
      data: { bypassId: closed.bypassId, comment, activatedAt: closed.activatedAt },
    })),
  ]);
  const timeline = await timelineOf(tx, request.id, soFar);
  // An emergency credential's review opened with the bypass: it gets the whole timeline now.
  const opened = await tx.getReviewByRequest(request.id);
  if (opened) {
    const review: Review = { ...opened, timeline };
    await tx.updateReview(review);
    return { request: closed, review };
  }
  const review: Review = {
    id: newId('rev'),
    requestId: request.id,
    gate: request.gate,
    requester: request.requester,
    team: request.team,
    state: 'review_open',
    openedAt: at,
    timeline,
    finding: null,
    note: null,
    completedBy: null,
    completedAt: null,
    approvedBy: closed.approvals.map((a) => a.approver),
    assignedTo: reviewAssignees(policy, closed, closed.approvals.map((a) => a.approver)),
  };
  await tx.insertReview(review);
  await tx.appendLedger([
    auditEntry(at, 'review_opened', { principal: 'system', roles: [], sourceAddress: null }, requestAudit(closed, {
      actorRole: 'system',
      data: { reviewId: review.id, timelineLength: timelineEntries(timeline), assignedTo: review.assignedTo },
    })),
  ]);
  return { request: closed, review };
}

/** A pending / needs_info request nobody decided in time. Same exactly-once rule as above. */
export async function lapseRequest(tx: StoreTx, request: BypassRequest, caller: Caller, now: Date): Promise<BypassRequest> {
  const at = now.toISOString();
  const lapsed: BypassRequest = { ...request, state: nextState(request.state, 'lapse'), closedAt: at, closedBy: null, updatedAt: at };
  await tx.updateRequest(lapsed);
  await tx.appendLedger([auditEntry(at, 'request_lapsed', caller, requestAudit(lapsed, { actorRole: 'system', data: { lapsesAt: request.lapsesAt } }))]);
  return lapsed;
}
