import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Incident } from '../../../../shared/domain/incident';
import { parseIncidentCitation } from '../../../../shared/domain/incident';
import { PolicySchema } from '../../../../shared/domain/policy';
import { assignedPrincipals, decidePreApproval, type PreApprovalAsk } from '../../../../shared/policy/pre-approval';

const policy = PolicySchema.parse({
  version: 1,
  ttlChoices: ['15m', '1h', '4h'],
  tiers: { high: { approvals: 1, approverGroups: ['leads'], maxTtl: '4h', allowSameTeam: false } },
  gates: [
    { id: 'deploy-freeze', kind: 'slow', tier: 'high' },
    { id: 'ci-tests', kind: 'slow', tier: 'high' },
  ],
  teams: { payments: { members: ['alice', 'dave'] } },
  approvers: { leads: ['bob'] },
  incidents: {
    sources: [{ id: 'pagerduty', kind: 'pagerduty', secretEnv: 'PD' }],
    responders: [
      { principal: 'alice', ids: { pagerduty: ['PTUXL6G'] } },
      { principal: 'dave', ids: { pagerduty: ['PDAVE01'] } },
    ],
    rules: [{ id: 'api-outage', source: 'pagerduty', services: ['PF9KMXH'], urgencies: ['high'], gates: ['deploy-freeze'], scopes: [{ repo: 'payments-api' }], maxTtl: '1h' }],
  },
});

const incident: Incident = {
  source: 'pagerduty',
  incidentId: 'PGR0VU2',
  kind: 'pagerduty',
  title: 'A little bump in the road',
  serviceId: 'PF9KMXH',
  serviceName: 'API Service',
  tags: [],
  urgency: 'high',
  priority: 'P1',
  status: 'triggered',
  assignees: ['PTUXL6G', 'PUNMAPPED'],
  updatedAt: '2020-10-02T18:45:22.169Z',
  eventSeq: 3,
  payloadDigest: `sha256:${'a'.repeat(64)}`,
};
const ask: PreApprovalAsk = { requester: 'alice', gate: 'deploy-freeze', scope: { repo: 'payments-api', branch: 'main' }, ttl: '1h' };
const REF = 'pagerduty:PGR0VU2';

describe('on-call pre-approval rule', () => {
  test('citations name a known source', () => {
    assert.deepEqual(parseIncidentCitation(REF, ['pagerduty']), { source: 'pagerduty', incidentId: 'PGR0VU2' });
    assert.equal(parseIncidentCitation('INC-1190', ['pagerduty']), undefined);
    assert.equal(parseIncidentCitation('opsgenie:x', ['pagerduty']), undefined);
  });

  test('an assigned responder, a matching rule, a narrower scope and a TTL within the rule: pre-approved', () => {
    assert.deepEqual(assignedPrincipals(policy, incident), ['alice']);
    const d = decidePreApproval(policy, REF, incident, ask);
    assert.equal(d.ok, true);
    assert.equal(d.ok && d.rule.id, 'api-outage');
  });

  test('each refusal names its reason and field', () => {
    const refuse = (inc: Incident | undefined, a = ask) => {
      const d = decidePreApproval(policy, REF, inc, a);
      assert.equal(d.ok, false);
      return d.ok ? '' : `${d.field}: ${d.reason}`;
    };
    assert.match(refuse(undefined), /^incidentRef: unknown incident pagerduty:PGR0VU2/);
    assert.match(refuse({ ...incident, status: 'resolved' }), /^incidentRef: incident pagerduty:PGR0VU2 is resolved/);
    assert.match(refuse(incident, { ...ask, requester: 'dave' }), /^incidentRef: dave is not assigned to incident pagerduty:PGR0VU2 \(assigned: alice\)/);
    assert.match(refuse({ ...incident, urgency: 'low' }), /^incidentRef: no pre-approval rule covers incident/);
    assert.match(refuse({ ...incident, serviceId: 'POTHER', serviceName: 'Other' }), /^incidentRef: no pre-approval rule covers incident/);
    assert.match(refuse(incident, { ...ask, gate: 'ci-tests' }), /^gate: .* do not cover gate ci-tests/);
    assert.match(refuse(incident, { ...ask, scope: { repo: 'checkout' } }), /^scope: the scope is outside what rule\(s\) api-outage pre-approve: it must contain one of repo=payments-api/);
    assert.match(refuse(incident, { ...ask, ttl: '4h' }), /^ttl: pre-approval for incident pagerduty:PGR0VU2 grants at most 1h/);
  });
});
