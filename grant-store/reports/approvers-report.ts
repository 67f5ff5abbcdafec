import type { Policy } from '../../shared/domain/policy';
import type { BypassRequest } from '../../shared/domain/request';
import type { ApproverGroupRow, ApproversReport } from '../../shared/domain/reports';
import { fraction, inTrailingWindow, iso, ms } from './calendar';
import type { ReportInput } from './report-input';
import { APPROVER_FLAG_MIN_SAMPLE, DECISION_WINDOW_DAYS } from './thresholds';

/** Row name for decisions by someone in no approver group of the current policy. */
export const UNGROUPED = '(ungrouped)';

/**
 * The groups a decision counts for: the approver's groups among those of the request's tier
 * (the capacity they decided in); failing that (the policy changed) every group they are in.
 */
function groupsFor(policy: Policy, request: BypassRequest, approver: string): string[] {
  const memberOf = Object.entries(policy.approvers)
    .filter(([, members]) => members.includes(approver))
    .map(([group]) => group);
  const tierGroups = policy.tiers[request.tier]?.approverGroups ?? [];
  const inTier = memberOf.filter((g) => tierGroups.includes(g));
  if (inTier.length > 0) return inTier;
  return memberOf.length > 0 ? memberOf : [UNGROUPED];
}

/**
 * Per approver group over the trailing 90 days: approvals (each signed approval, dated by its
 * signature's arrival) vs denials (the deny that closed a request). Standing-scope activations
 * are approved by the policy's authors in advance, not by a group, so they are not counted.
 * Flags need APPROVER_FLAG_MIN_SAMPLE decisions: 100% approvals = rubber_stamping, 100% denials = theatre.
 */
export function approversReport(input: ReportInput): ApproversReport {
  const nowMs = input.now.getTime();
  const tally = new Map<string, { approvals: number; denials: number }>();
  const bump = (group: string, field: 'approvals' | 'denials') => {
    const row = tally.get(group) ?? { approvals: 0, denials: 0 };
    row[field] += 1;
    tally.set(group, row);
  };

  for (const request of input.requests) {
    if (request.standingScope !== null) continue;
    for (const approval of request.approvals) {
      if (!inTrailingWindow(ms(approval.at), nowMs, DECISION_WINDOW_DAYS)) continue;
      for (const g of groupsFor(input.policy, request, approval.approver)) bump(g, 'approvals');
    }
    if (request.state === 'denied' && request.closedBy !== null && request.closedAt !== null && inTrailingWindow(ms(request.closedAt), nowMs, DECISION_WINDOW_DAYS)) {
      for (const g of groupsFor(input.policy, request, request.closedBy)) bump(g, 'denials');
    }
  }

  const names = new Set<string>([...Object.keys(input.policy.approvers), ...tally.keys()]);
  const groups: ApproverGroupRow[] = [...names].sort().map((group) => {
    const { approvals, denials } = tally.get(group) ?? { approvals: 0, denials: 0 };
    const decided = approvals + denials;
    const sampleSufficient = decided >= APPROVER_FLAG_MIN_SAMPLE;
    let flag: ApproverGroupRow['flag'] = null;
    if (sampleSufficient && approvals === decided) flag = 'rubber_stamping';
    if (sampleSufficient && denials === decided) flag = 'theatre';
    return { group, members: [...(input.policy.approvers[group] ?? [])], approvals, denials, approvalRate: fraction(approvals, decided), sampleSufficient, flag };
  });

  return { now: iso(nowMs), windowDays: DECISION_WINDOW_DAYS, minSample: APPROVER_FLAG_MIN_SAMPLE, groups };
}
