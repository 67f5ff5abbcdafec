import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approvalsNeeded, budgetStanding, budgetText, calendarQuarter, isOverBudget } from '../../../../shared/policy/budget';
import { testPolicy } from './policy-fixture';

test('calendar quarters are UTC and half-open', () => {
  assert.equal(calendarQuarter(Date.parse('2026-12-31T23:59:59.999Z')).label, '2026-Q4');
  assert.equal(calendarQuarter(Date.parse('2027-01-01T00:00:00.000Z')).label, '2027-Q1');
  const q2 = calendarQuarter(Date.parse('2026-05-15T12:00:00Z'));
  assert.deepEqual([q2.label, new Date(q2.start).toISOString(), new Date(q2.end).toISOString()], ['2026-Q2', '2026-04-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z']);
});

test('over budget means more bypasses than the budget, not as many', () => {
  assert.equal(isOverBudget(3, 3), false);
  assert.equal(isOverBudget(4, 3), true);
  assert.equal(isOverBudget(1, 0), true);
});

test('the standing names the quarter; an unknown team has none', () => {
  const policy = testPolicy();
  const at = Date.parse('2026-11-30T10:00:00Z');
  assert.deepEqual(budgetStanding(policy, 'payments', 4, at), { quarter: '2026-Q4', used: 4, budget: 3, over: true });
  assert.deepEqual(budgetStanding(policy, 'platform', 4, at), { quarter: '2026-Q4', used: 4, budget: 10, over: false });
  assert.equal(budgetStanding(policy, 'nobody', 4, at), null);
  assert.match(budgetText('payments', { quarter: '2026-Q4', used: 4, budget: 3, over: true }), /^team payments is OVER its quarterly budget: 4 of 3 bypasses in 2026-Q4/);
});

test('an over-budget team needs the tier\'s extra approvers, others the tier\'s approvals', () => {
  const policy = testPolicy({ tiers: { low: { approvals: 1, approverGroups: ['oncall'], maxTtl: '24h', overBudgetExtraApprovers: 1 }, high: { approvals: 1, approverGroups: ['leads'], maxTtl: '4h' }, critical: { approvals: 2, approverGroups: ['leads'], allowSameTeam: false, maxTtl: '1h', attestationRequired: true, notify: ['ciso'], overBudgetExtraApprovers: 2 } } });
  const over = { quarter: '2026-Q4', used: 4, budget: 3, over: true };
  const within = { ...over, used: 3, over: false };
  assert.equal(approvalsNeeded(policy.tiers.low!, over), 2);
  assert.equal(approvalsNeeded(policy.tiers.low!, within), 1);
  assert.equal(approvalsNeeded(policy.tiers.low!, null), 1);
  assert.equal(approvalsNeeded(policy.tiers.high!, over), 1, 'no extra on a tier that asks none');
  assert.equal(approvalsNeeded(policy.tiers.critical!, over), 4);
});
