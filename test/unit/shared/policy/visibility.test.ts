import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LedgerEntry } from '../../../../shared/domain/ledger-entry';
import { canActOnRequest, canSeeLedgerEntry, canSeeRequest, seesOnlyOwnRequests } from '../../../../shared/policy/visibility';
import { testPolicy } from './policy-fixture';

const policy = testPolicy();
const signing = { requester: 'alice', gate: 'container-signing' }; // tier critical: notify [ciso]
const freeze = { requester: 'alice', gate: 'deploy-freeze' }; // tier high: no notify list

describe("visibility: a tier's notify list reads its requests, and only reads them", () => {
  test('the CISO on the critical tier notify list sees its requests, whatever the roles, and acts on none', () => {
    for (const roles of [['requester'], ['approver'], []] as const) {
      const ciso = { principal: 'ciso', roles };
      assert.equal(canSeeRequest(policy, ciso, signing), true, `roles ${roles.join(',')}`);
      assert.equal(canActOnRequest(policy, ciso, signing), false);
      assert.equal(canSeeRequest(policy, ciso, freeze), false, 'another tier stays hidden');
    }
  });

  test("the request's ledger entries follow it; a requester on a notify list is not 'own requests only'", () => {
    const ciso = { principal: 'ciso', roles: ['requester'] as const };
    const created = { seq: 3, target: 'req_1', type: 'request_created', gate: 'container-signing', actor: 'alice', data: {} } as unknown as LedgerEntry;
    assert.equal(canSeeLedgerEntry(policy, ciso, created, signing), true);
    assert.equal(canSeeLedgerEntry(policy, ciso, created, freeze), false);
    assert.equal(seesOnlyOwnRequests(policy, ciso), false);
    assert.equal(seesOnlyOwnRequests(policy, { principal: 'grace', roles: ['requester'] }), true);
    assert.equal(seesOnlyOwnRequests(policy, { principal: 'grace', roles: ['approver'] }), false);
  });

  test('approvers of the tier, the requester, auditors and admins both see and act as before', () => {
    assert.equal(canActOnRequest(policy, { principal: 'carol', roles: ['approver'] }, signing), true);
    assert.equal(canActOnRequest(policy, { principal: 'alice', roles: ['requester'] }, signing), true);
    assert.equal(canActOnRequest(policy, { principal: 'audra', roles: ['auditor'] }, signing), true);
    assert.equal(canSeeRequest(policy, { principal: 'grace', roles: ['requester'] }, signing), false);
    assert.equal(canSeeRequest(policy, { principal: 'bob', roles: ['requester'] }, signing), false, 'a leads member without the approver role');
  });
});
