import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../../shared/errors';
import { assertMayApprove, assertMayDecide, eligibleApprovers, ineligibilityReason } from '../../../../shared/policy/separation-of-duties';
import { testPolicy } from './policy-fixture';

const policy = testPolicy();
const low = { requester: 'alice', team: 'payments', gate: 'ci-tests' };
const high = { requester: 'alice', team: 'payments', gate: 'deploy-freeze' };
const critical = { requester: 'alice', team: 'payments', gate: 'container-signing' };

function code(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error.code;
  }
}

describe('separation of duties', () => {
  test('the requester can never decide on their own request, even in an approver group', () => {
    assert.match(ineligibilityReason(policy, low, 'alice')!, /own request/);
    assert.equal(code(() => assertMayDecide(policy, low, 'alice')), 'forbidden');
  });
  test('only members of the tier approver groups', () => {
    assert.match(ineligibilityReason(policy, low, 'carol')!, /not in an approver group/);
    assert.equal(ineligibilityReason(policy, low, 'bob'), undefined);
  });
  test('allowSameTeam: true lets a teammate approve; false does not', () => {
    assert.equal(ineligibilityReason(policy, low, 'dave'), undefined);
    assert.match(ineligibilityReason(policy, high, 'dave')!, /requester's team/);
  });
  test('eligible approvers after the rules', () => {
    assert.deepEqual(eligibleApprovers(policy, low), ['bob', 'dave']);
    assert.deepEqual(eligibleApprovers(policy, high), ['bob', 'carol', 'erin']);
  });
  test('hardwareKeyRequired accepts only hardware-backed keys', () => {
    assert.equal(code(() => assertMayApprove(policy, critical, { approver: 'bob', hardwareBacked: false, priorApprovers: [] })), 'forbidden');
    assert.equal(code(() => assertMayApprove(policy, critical, { approver: 'bob', hardwareBacked: true, attested: true, priorApprovers: [] })), undefined);
  });
  test('two approvals need two distinct approvers', () => {
    assert.equal(code(() => assertMayApprove(policy, critical, { approver: 'bob', hardwareBacked: true, attested: true, priorApprovers: ['bob'] })), 'conflict');
    assert.equal(code(() => assertMayApprove(policy, critical, { approver: 'carol', hardwareBacked: true, attested: true, priorApprovers: ['bob'] })), undefined);
  });
  test('a gate removed from the policy has no approvers', () => {
    assert.deepEqual(eligibleApprovers(policy, { ...low, gate: 'gone' }), []);
    assert.match(ineligibilityReason(policy, { ...low, gate: 'gone' }, 'bob')!, /no longer in the policy/);
  });
});
