import { ReviewCompleteInputSchema, type Review, type ReviewFinding, type ReviewSignoff } from '../../shared/domain/review';
import { emergencySignoffRefusal } from '../../shared/policy/emergency-rules';
import { isSelfReview } from '../../shared/policy/review-assignment';
import { teamOf } from '../../shared/policy/tier-resolution';
import { AppError, parseOrThrow } from '../../shared/errors';
import { actingRole, requireRole } from './access';
import { servedReview } from './timeline';
import { auditEntry } from './audit-entry';
import type { Caller, ServiceDeps } from './service-deps';
import { canActOnRequest, canSeeRequest, type Viewer } from '../../shared/policy/visibility';
import type { Policy } from '../../shared/domain/policy';
import { ReviewListQuerySchema, type ReviewListQuery } from '../../shared/http/params';
import type { StoreReader } from '../storage/store';
import { keysetPage, pageKeyOf } from './keyset-page';

const REVIEW_ROLES = ['approver', 'auditor', 'admin'] as const;

/**
 * A page of the reviews `caller` may see, newest opened first (GET /v1/reviews): state, keyset
 * and limit in SQL, visibility per row, further batches read until the page is full (keysetPage).
 */
export async function reviewPage(store: StoreReader, policy: Policy, caller: Viewer, query: ReviewListQuery): Promise<{ reviews: Review[]; nextCursor: string | null }> {
  const page = await keysetPage(
    'reviews',
    (after, limit) => store.listReviews({ state: query.state, after, limit }),
    (review) => ({ at: review.openedAt, id: review.id }),
    (review) => canSeeRequest(policy, caller, review),
    pageKeyOf('reviews', query.cursor),
    query.limit,
  );
  return { reviews: page.rows.map(servedReview), nextCursor: page.nextCursor };
}

export async function listReviews(deps: ServiceDeps, caller: Caller, rawQuery: unknown): Promise<{ reviews: Review[]; nextCursor: string | null }> {
  const query: ReviewListQuery = parseOrThrow(ReviewListQuerySchema, rawQuery, 'query');
  return reviewPage(deps.store, deps.policies.policy, caller, query);
}

export async function getReview(deps: ServiceDeps, caller: Caller, id: string): Promise<Review> {
  const review = await deps.store.getReview(id);
  if (!review || !canSeeRequest(deps.policies.policy, caller, review)) throw new AppError('not_found', `review ${id} not found`);
  return servedReview(review);
}

/** The most serious finding among sign-offs: not justified > fix the gate > justified. */
const SEVERITY: Record<ReviewFinding, number> = { justified: 0, fix_the_gate: 1, not_justified: 2 };

/**
 * Sign off a review: by someone other than the requester, once. A review that needs several
 * sign-offs (an emergency credential's use: two, from outside the user's team) stays open until
 * that many distinct reviewers have signed; each sign-off is a review_signed ledger entry, and
 * the last one completes it (review_completed, with every sign-off). Its finding is the most
 * serious one given. Such a review opens while the bypass runs; it is signed after it ends.
 */
export async function completeReview(deps: ServiceDeps, caller: Caller, id: string, body: unknown): Promise<Review> {
  requireRole(caller, ...REVIEW_ROLES);
  const input = parseOrThrow(ReviewCompleteInputSchema, body, 'review completion');
  const policy = deps.policies.policy;
  return deps.store.transaction(async (tx) => {
    // Written back folded, whatever form it was stored in.
    const stored = await tx.getReview(id);
    const review = stored && servedReview(stored);
    if (!review || !canSeeRequest(policy, caller, review)) throw new AppError('not_found', `review ${id} not found`);
    if (!canActOnRequest(policy, caller, review)) throw new AppError('forbidden', `${caller.principal} is told about gate ${review.gate}'s requests (its tier's notify list) but does not approve for it: a review is signed off by the tier's approvers, auditors or admins`);
    if (review.requester === caller.principal) throw new AppError('forbidden', 'a review is completed by someone other than the requester');
    if (review.state !== 'review_open') throw new AppError('illegal_transition', `review ${id} is already ${review.state}`, { currentState: review.state });
    const request = await tx.getRequest(review.requestId);
    if (request?.state === 'active') throw new AppError('illegal_transition', `the bypass of review ${id} is active until ${request.expiresAt}: sign off once it has ended`, { currentState: 'active' });
    const at = deps.clock().toISOString();
    const required = review.signoffsRequired ?? 1;
    const role = actingRole(caller, ...REVIEW_ROLES);
    // Reviewing a bypass you approved is allowed (small teams) but never silent: the review and
    // its ledger entry say so. Older reviews carry no approvedBy: the request's approvals say.
    const selfReview = isSelfReview(review.approvedBy ?? request?.approvals.map((a) => a.approver) ?? [], caller.principal);
    if (required === 1) {
      const completed: Review = { ...review, state: 'reviewed', finding: input.finding, note: input.note, completedBy: caller.principal, completedAt: at, selfReview };
      await tx.updateReview(completed);
      await tx.appendLedger([
        auditEntry(at, 'review_completed', caller, { target: review.requestId, actorRole: role, gate: review.gate, reason: input.note, incidentRef: request?.incidentRef ?? null, data: { reviewId: id, finding: input.finding, selfReview } }),
      ]);
      return completed;
    }
    const signoffs = review.signoffs ?? [];
    if (signoffs.some((s) => s.by === caller.principal)) throw new AppError('forbidden', `${caller.principal} already signed off review ${id}: it needs ${required} distinct reviewers`);
    if (review.outsideTeamOnly) {
      const refusal = emergencySignoffRefusal(policy, review, caller.principal);
      if (refusal) throw new AppError('forbidden', refusal);
    }
    const signoff: ReviewSignoff = { by: caller.principal, team: teamOf(policy, caller.principal) ?? null, finding: input.finding, note: input.note, at, selfReview };
    const all = [...signoffs, signoff];
    const done = all.length >= required;
    const worst = all.reduce((w, s) => (SEVERITY[s.finding] > SEVERITY[w.finding] ? s : w));
    const updated: Review = done
      ? { ...review, signoffs: all, state: 'reviewed', finding: worst.finding, note: all.map((s) => `${s.by} (${s.finding}): ${s.note}`).join('\n\n'), completedBy: caller.principal, completedAt: at, selfReview: all.some((s) => s.selfReview === true) }
      : { ...review, signoffs: all };
    await tx.updateReview(updated);
    const entries = [
      auditEntry(at, 'review_signed', caller, { target: review.requestId, actorRole: role, gate: review.gate, reason: input.note, incidentRef: request?.incidentRef ?? null, data: { reviewId: id, finding: input.finding, signoff: all.length, of: required, team: signoff.team, selfReview } }),
    ];
    if (done) entries.push(auditEntry(at, 'review_completed', caller, { target: review.requestId, actorRole: role, gate: review.gate, reason: updated.note, incidentRef: request?.incidentRef ?? null, data: { reviewId: id, finding: updated.finding, signoffs: all.map((s) => ({ by: s.by, team: s.team, finding: s.finding, at: s.at, selfReview: s.selfReview === true })) } }));
    await tx.appendLedger(entries);
    return updated;
  });
}
