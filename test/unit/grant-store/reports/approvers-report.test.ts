import { test } from 'node:test';
import assert from 'node:assert/strict';
import { approversReport } from '../../../../grant-store/reports/approvers-report';
import { ApproversReportSchema } from '../../../../shared/domain/reports';
import { DAY, HOUR, ago, input, request } from './fixtures';

const approved = (id: string, gate: string, approver: string, offset: number, extra = {}) =>
  request({ id, gate, state: 'expired', createdAt: ago(offset + HOUR), activatedAt: ago(offset), approvals: [{ approver, at: ago(offset) }], ...extra });
const denied = (id: string, gate: string, approver: string, offset: number) =>
  request({ id, gate, state: 'denied', createdAt: ago(offset + HOUR), closedAt: ago(offset), closedBy: approver });

test('approvers report: a rubber-stamping group, a theatre group, small samples unflagged', () => {
  const requests = [
    // leads: bob approves 10 standard-tier requests, carol 1 -> 11 of 11: rubber-stamping
    ...Array.from({ length: 10 }, (_, i) => approved(`req_b${i}`, 'integration', 'bob', (i + 1) * DAY)),
    approved('req_c1', 'perf', 'carol', 3 * DAY),
    // outside the 90-day window: a denial by bob does not rescue the group
    denied('req_old', 'integration', 'bob', 91 * DAY),
    // security: 10 denials on the critical tier -> theatre
    ...Array.from({ length: 9 }, (_, i) => denied(`req_s${i}`, 'image-signing', 'sec1', (i + 1) * DAY)),
    denied('req_s9', 'image-signing', 'sec2', 12 * DAY),
    // a standing scope is approved by the policy's authors, not by a group
    approved('req_standing', 'integration', 'bob', DAY, { standingScope: 'release-tooling' }),
    // someone no longer in any group
    approved('req_ex', 'integration', 'former-lead', 4 * DAY),
    // carol is in both groups; on the critical tier her approval counts for each
    // (and it was 2 days ago, in the window) -- a pending request keeps its approvals
    request({ id: 'req_crit', gate: 'image-signing', createdAt: ago(2 * DAY + HOUR), approvals: [{ approver: 'carol', at: ago(2 * DAY) }] }),
  ];
  const report = approversReport(input({ requests }));
  ApproversReportSchema.parse(report);
  assert.deepEqual(report, {
    now: '2026-11-26T12:00:00.000Z',
    windowDays: 90,
    minSample: 10,
    groups: [
      { group: '(ungrouped)', members: [], approvals: 1, denials: 0, approvalRate: 1, sampleSufficient: false, flag: null },
      { group: 'leads', members: ['bob', 'carol'], approvals: 12, denials: 0, approvalRate: 1, sampleSufficient: true, flag: 'rubber_stamping' },
      { group: 'security', members: ['sec1', 'sec2', 'carol'], approvals: 1, denials: 10, approvalRate: 0.0909, sampleSufficient: true, flag: null },
    ],
  });
});

test('approvers report: exactly the minimum sample of denials is theatre; one fewer is not flagged', () => {
  const denials = (n: number) => Array.from({ length: n }, (_, i) => denied(`req_d${i}`, 'image-signing', 'sec1', (i + 1) * DAY));
  const security = (n: number) => approversReport(input({ requests: denials(n) })).groups.find((g) => g.group === 'security');
  assert.deepEqual(security(10), { group: 'security', members: ['sec1', 'sec2', 'carol'], approvals: 0, denials: 10, approvalRate: 0, sampleSufficient: true, flag: 'theatre' });
  assert.deepEqual(security(9), { group: 'security', members: ['sec1', 'sec2', 'carol'], approvals: 0, denials: 9, approvalRate: 0, sampleSufficient: false, flag: null });
  const leads = approversReport(input({ requests: denials(10) })).groups.find((g) => g.group === 'leads');
  assert.deepEqual(leads, { group: 'leads', members: ['bob', 'carol'], approvals: 0, denials: 0, approvalRate: null, sampleSufficient: false, flag: null });
});
