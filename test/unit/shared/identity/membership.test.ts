import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { groupsFromClaim, membershipFromGroups, withMemberships } from '../../../../shared/identity/membership';
import { eligibleApprovers, ineligibilityReason } from '../../../../shared/policy/separation-of-duties';
import { teamOf } from '../../../../shared/policy/tier-resolution';
import { defaultIdentity, identityPolicy } from './identity-policy-fixture';

const policy = identityPolicy();
const oidc = policy.identity!.oidc!;

describe('IdP groups → membership', () => {
  test('team, approver groups (with the approver role) and roles from the mapped groups; unmapped groups ignored', () => {
    assert.deepEqual(membershipFromGroups(oidc, ['eng-platform', 'platform-leads', 'auditors', 'everyone']), {
      membership: { team: 'platform', approverGroups: ['leads'], roles: ['approver', 'auditor', 'requester'] },
    });
  });
  test('two teams are refused, as is a person in no mapped group (unless the policy allows it)', () => {
    const two = membershipFromGroups(oidc, ['eng-payments', 'eng-platform']);
    assert.ok('refusal' in two && /more than one team \(eng-payments → payments, eng-platform → platform\)/.test(two.refusal));
    const none = membershipFromGroups(oidc, ['everyone']);
    assert.ok('refusal' in none && /none of your IdP groups \(everyone\) is mapped/.test(none.refusal));
    const open = identityPolicy({ ...defaultIdentity(), oidc: { ...(defaultIdentity().oidc as object), allowUnmappedUsers: true } }).identity!.oidc!;
    assert.deepEqual(membershipFromGroups(open, []), { membership: { team: null, approverGroups: [], roles: ['requester'] } });
  });
  test('the groups claim: a list of strings or one string', () => {
    assert.deepEqual(groupsFromClaim(['a', 'b']), ['a', 'b']);
    assert.deepEqual(groupsFromClaim('a'), ['a']);
    assert.deepEqual(groupsFromClaim(undefined), []);
    assert.equal(groupsFromClaim([1]), undefined);
    assert.equal(groupsFromClaim({ a: 1 }), undefined);
  });
});

describe('the policy with IdP memberships applied', () => {
  test('IdP principals join their teams and approver groups; the IdP replaces what the YAML listed for them', () => {
    const effective = withMemberships(policy, new Map([
      ['dana@example.com', { team: 'platform', approverGroups: ['leads'], roles: ['approver', 'requester'] as const }],
      ['alice', { team: 'platform', approverGroups: [], roles: ['requester'] as const }],
    ].map(([k, v]) => [k as string, { ...(v as { team: string; approverGroups: string[] }), roles: [...(v as { roles: readonly ('approver' | 'requester')[] }).roles] }])));
    assert.equal(teamOf(effective, 'dana@example.com'), 'platform');
    assert.equal(teamOf(effective, 'alice'), 'platform', 'alice left payments in the IdP');
    assert.deepEqual(effective.teams.payments!.members, []);
    assert.deepEqual(policy.teams.payments!.members, ['alice'], 'the loaded policy is not modified');
    const request = { requester: 'alice', team: 'platform', gate: 'deploy-freeze' };
    assert.match(ineligibilityReason(effective, request, 'dana@example.com')!, /requester's team/, 'separation of duties uses the IdP team');
    assert.deepEqual(eligibleApprovers(effective, { requester: 'alice', team: 'payments', gate: 'deploy-freeze' }), ['dana@example.com']);
  });
});
