import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequestAgainstPolicy } from '../../../../shared/policy/request-validation';
import { findStandingScope } from '../../../../shared/policy/standing-scope';
import { approverGroupsOf, resolveGate, teamOf } from '../../../../shared/policy/tier-resolution';
import { testPolicy } from './policy-fixture';

const policy = testPolicy();
const now = new Date('2026-06-22T03:14:07.000Z');

describe('tier resolution', () => {
  test('a gate resolves to its tier', () => {
    const r = resolveGate(policy, 'container-signing');
    assert.equal(r?.tierName, 'critical');
    assert.equal(r?.tier.approvals, 2);
    assert.equal(resolveGate(policy, 'nope'), undefined);
  });
  test('team and approver groups of a principal', () => {
    assert.equal(teamOf(policy, 'erin'), 'platform');
    assert.equal(teamOf(policy, 'zed'), undefined);
    assert.deepEqual(approverGroupsOf(policy, 'dave').sort(), ['leads', 'oncall']);
  });
});

describe('standing scopes', () => {
  const base = { gate: 'ci-tests', team: 'payments', scope: { repo: 'payments-api', branch: 'release' }, ttl: '7d', now };
  test('a request inside the standing scope uses it', () => {
    assert.equal(findStandingScope(policy, base)?.id, 'release-perf');
    assert.equal(findStandingScope(policy, { ...base, scope: { repo: 'payments-api', branch: 'release', job: 'perf' } })?.id, 'release-perf');
  });
  test('another team, gate, scope, a longer TTL or an expired standing approval do not', () => {
    assert.equal(findStandingScope(policy, { ...base, team: 'platform' }), undefined);
    assert.equal(findStandingScope(policy, { ...base, gate: 'deploy-freeze' }), undefined);
    assert.equal(findStandingScope(policy, { ...base, scope: { repo: 'payments-api', branch: 'main' } }), undefined);
    assert.equal(findStandingScope(policy, { ...base, scope: { repo: 'payments-api' } }), undefined);
    assert.equal(findStandingScope(policy, { ...base, ttl: '24h' })?.id, 'release-perf');
    assert.equal(findStandingScope(policy, { ...base, now: new Date('2028-01-01T00:00:00.000Z') }), undefined);
    assert.equal(findStandingScope(policy, { ...base, now: new Date('2027-12-31T23:59:59.000Z') })?.id, 'release-perf');
  });
});

describe('request policy checks', () => {
  const input = { gate: 'deploy-freeze', scope: { repo: 'payments-api' }, reason: 'x'.repeat(30), severity: 'sev3' as const, ttl: '1h' };
  test('a valid request has no errors', () => {
    assert.deepEqual(checkRequestAgainstPolicy(policy, input, 'payments', now).errors, []);
  });
  test('unknown gate', () => {
    assert.equal(checkRequestAgainstPolicy(policy, { ...input, gate: 'nope' }, 'payments', now).errors[0]?.path, 'gate');
  });
  test('incident ref required on sev1/sev2 only', () => {
    assert.equal(checkRequestAgainstPolicy(policy, { ...input, severity: 'sev1' }, 'payments', now).errors[0]?.path, 'incidentRef');
    assert.equal(checkRequestAgainstPolicy(policy, { ...input, severity: 'sev2' }, 'payments', now).errors[0]?.path, 'incidentRef');
    assert.deepEqual(checkRequestAgainstPolicy(policy, { ...input, severity: 'sev2', incidentRef: 'INC-1' }, 'payments', now).errors, []);
    assert.deepEqual(checkRequestAgainstPolicy(policy, { ...input, severity: 'sev4' }, 'payments', now).errors, []);
  });
  test('TTL above the tier max or not in the list', () => {
    assert.equal(checkRequestAgainstPolicy(policy, { ...input, ttl: '24h' }, 'payments', now).errors[0]?.path, 'ttl');
    assert.equal(checkRequestAgainstPolicy(policy, { ...input, ttl: '2h' }, 'payments', now).errors[0]?.path, 'ttl');
  });
  test('a standing scope allows its own longer max', () => {
    const standing = { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'release' }, reason: 'x'.repeat(30), severity: 'sev4' as const, ttl: '7d' };
    const result = checkRequestAgainstPolicy(policy, standing, 'payments', now);
    assert.deepEqual(result.errors, []);
    assert.equal(result.standing?.id, 'release-perf');
    assert.equal(checkRequestAgainstPolicy(policy, standing, 'platform', now).errors[0]?.path, 'ttl');
  });
});
