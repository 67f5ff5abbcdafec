import { ReviewCompleteInputSchema, type Review } from '../../shared/domain/review';
import { AppError, parseOrThrow } from '../../shared/errors';
import { actingRole, requireRole } from './access';
import { auditEntry } from './audit-entry';
import type { Caller, ServiceDeps } from './service-deps';
import { canSeeRequest } from './visibility';

const REVIEW_ROLES = ['approver', 'auditor', 'admin'] as const;

export async function listReviews(deps: ServiceDeps, caller: Caller, state: Review['state'] | undefined): Promise<Review[]> {
  const reviews = await deps.store.listReviews(state);
  return reviews.filter((r) => canSeeRequest(deps.policies.policy, caller, r));
}

export async function getReview(deps: ServiceDeps, caller: Caller, id: string): Promise<Review> {
  const review = await deps.store.getReview(id);
  if (!review || !canSeeRequest(deps.policies.policy, caller, review)) throw new AppError('not_found', `review ${id} not found`);
  return review;
}

/** Sign off a review: by someone other than the requester, once. */
export async function completeReview(deps: ServiceDeps, caller: Caller, id: string, body: unknown): Promise<Review> {
  requireRole(caller, ...REVIEW_ROLES);
  const input = parseOrThrow(ReviewCompleteInputSchema, body, 'review completion');
  return deps.store.transaction(async (tx) => {
    const review = await tx.getReview(id);
    if (!review || !canSeeRequest(deps.policies.policy, caller, review)) throw new AppError('not_found', `review ${id} not found`);
    if (review.requester === caller.principal) throw new AppError('forbidden', 'a review is completed by someone other than the requester');
    if (review.state !== 'review_open') throw new AppError('illegal_transition', `review ${id} is already ${review.state}`, { currentState: review.state });
    const at = deps.clock().toISOString();
    const completed: Review = { ...review, state: 'reviewed', finding: input.finding, note: input.note, completedBy: caller.principal, completedAt: at };
    await tx.updateReview(completed);
    const request = await tx.getRequest(review.requestId);
    await tx.appendLedger([
      auditEntry(at, 'review_completed', caller, {
        target: review.requestId,
        actorRole: actingRole(caller, ...REVIEW_ROLES),
        gate: review.gate,
        reason: input.note,
        incidentRef: request?.incidentRef ?? null,
        data: { reviewId: id, finding: input.finding },
      }),
    ]);
    return completed;
  });
}

