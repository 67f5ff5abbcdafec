import type { Policy } from '../domain/policy';
import { eligibleApprovers, type DecisionSubject } from './separation-of-duties';

/**
 * Who a post-incident review is assigned to when the store opens it: the approvers eligible for
 * the gate's tier who neither asked for nor approved the bypass (an independent look); when the
 * policy has nobody else, the bypass's own approvers, whose sign-off is then a self-review.
 */
export function reviewAssignees(policy: Policy, request: DecisionSubject, approvedBy: readonly string[]): string[] {
  const independent = eligibleApprovers(policy, request).filter((name) => !approvedBy.includes(name));
  return independent.length > 0 ? independent : [...approvedBy].filter((name) => name !== request.requester).sort();
}

/** A sign-off by someone who approved the bypass under review: allowed, warned about, recorded. */
export function isSelfReview(approvedBy: readonly string[], reviewer: string): boolean {
  return approvedBy.includes(reviewer);
}
