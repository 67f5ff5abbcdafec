import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { signGenericWebhook } from '../../../grant-store/incidents/webhook-auth';
import { OPSGENIE, PAGERDUTY_EXAMPLE, fixtureBytes, pagerDutyEvent, pagerDutySignature } from '../../support/incident-fixtures';
import { BACKENDS, expectExit, json, startIssue15Store, startReceiver, type Issue15Store, type Receiver } from './issue15-harness';

/**
 * On-call pre-approval end to end, on SQLite and PostgreSQL: PagerDuty's and Opsgenie's
 * documented payloads, byte for byte, POSTed to the store's webhook as the vendors send them
 * (PagerDuty signed with v1= HMAC-SHA256 during a secret rotation, Opsgenie with its shared
 * token header), then requests through the real CLI citing the incident. The store's clock is
 * set to the payloads' own dates.
 */

const SECRETS = { BG_PD_SECRET: 'pd-signing-secret-0123456789abcdef', BG_PD_OLD_SECRET: 'pd-old-secret-0123456789abcdef', BG_OG_TOKEN: 'og-shared-token-0123456789abcdef', BG_GENERIC_SECRET: 'generic-secret-0123456789' };
// The store reads the sources' secrets from its environment (here: this process).
Object.assign(process.env, SECRETS);

const POLICY = (hook: string) => `version: 1
ttlChoices: [15m, 1h, 4h]
tiers:
  high:
    approvals: 1
    approverGroups: [leads]
    allowSameTeam: false
    maxTtl: 4h
gates:
  - id: deploy-freeze
    kind: slow
    tier: high
    scopeKeys: [repo, branch]
teams:
  payments: { members: [alice, dave, fili] }
  platform: { members: [bob] }
approvers:
  leads: [bob]
incidents:
  sources:
    - id: pagerduty
      kind: pagerduty
      secretEnv: BG_PD_SECRET
      previousSecretEnv: BG_PD_OLD_SECRET
    - id: opsgenie
      kind: opsgenie
      secretEnv: BG_OG_TOKEN
    - id: status
      kind: generic
      secretEnv: BG_GENERIC_SECRET
  responders:
    - principal: alice
      ids: { pagerduty: [PTUXL6G], status: [alice] }
    - principal: dave
      ids: { pagerduty: [PDAVE01] }
    - principal: fili
      ids: { opsgenie: [fili@ifountain.com] }
  rules:
    - id: api-outage
      source: pagerduty
      services: [PF9KMXH]
      urgencies: [high]
      gates: [deploy-freeze]
      scopes: [{ repo: payments-api }]
      maxTtl: 1h
    - id: tagged-alerts
      source: opsgenie
      services: [tag1]
      gates: [deploy-freeze]
      scopes: [{ repo: payments-api }]
      maxTtl: 1h
    - id: status-page
      source: status
      services: [checkout]
      gates: [deploy-freeze]
      scopes: [{ repo: checkout }]
      maxTtl: 15m
webhooks:
  - id: chat
    url: ${hook}/chat
    events: [bypass_activated]
`;

const PEOPLE: [string, ('requester' | 'approver' | 'gate' | 'admin' | 'auditor')[]][] = [
  ['alice', ['requester']],
  ['dave', ['requester']],
  ['fili', ['requester']],
  ['bob', ['approver']],
  ['ci', ['gate']],
];
const REASON = 'API Service incident: deploy the rollback of payments-api through the freeze';
const digestOf = (raw: Buffer) => `sha256:${createHash('sha256').update(raw).digest('hex')}`;

function requestArgs(incident: string, extra: string[] = []): string[] {
  const args = ['request', '--gate', 'deploy-freeze', '--scope', 'repo=payments-api,branch=main', '--reason', REASON, '--incident', incident, '--severity', 'sev1', '--ttl', '1h', ...extra];
  return args;
}

for (const backend of BACKENDS) {
  describe(`PagerDuty pre-approval through the CLI (${backend})`, { concurrency: false }, () => {
    let s: Issue15Store;
    let hook: Receiver;
    let aliceRequest = '';
    const pd = (raw: Buffer, signature = pagerDutySignature(raw, SECRETS.BG_PD_OLD_SECRET, SECRETS.BG_PD_SECRET)) =>
      s.call('POST', '/v1/incidents/pagerduty/webhook', { raw, headers: { 'content-type': 'application/json', 'x-pagerduty-signature': signature } });

    before(async () => {
      hook = await startReceiver();
      s = await startIssue15Store(backend, POLICY(hook.url), PEOPLE, { clockAt: '2020-10-02T18:45:30.000Z' });
    });
    after(async () => {
      await s?.close();
      await hook?.close();
    });

    test('forged and unsigned webhooks are refused with nothing written; an unknown incident pre-approves nothing', async () => {
      const size = (await s.ledger()).length;
      const raw = fixtureBytes(PAGERDUTY_EXAMPLE);
      assert.equal((await pd(raw, pagerDutySignature(raw, 'not-the-secret'))).status, 401);
      assert.equal((await pd(raw, '')).status, 401);
      const tampered = Buffer.from(raw.toString('utf8').replace('PTUXL6G', 'PDAVE01'));
      assert.equal((await pd(tampered, pagerDutySignature(raw, SECRETS.BG_PD_SECRET))).status, 401, 'a body changed after signing');
      const unknown = await s.as('alice', requestArgs('pagerduty:PGR0VU2'));
      expectExit(unknown, 1, 'unknown incident');
      assert.match(unknown.stderr, /unknown incident pagerduty:PGR0VU2/);
      assert.equal((await s.ledger()).length, size);
    });

    test("the documented v3 payload, signed as PagerDuty signs it: the assigned responder's request is active at once, with the payload digest in the ledger", async () => {
      const raw = fixtureBytes(PAGERDUTY_EXAMPLE);
      const applied = await pd(raw);
      assert.equal(applied.status, 200, applied.text);
      assert.equal(applied.json.outcome, 'applied');
      const again = await pd(raw);
      assert.equal(again.json.outcome, 'duplicate', 'PagerDuty delivers at least once');

      const r = await s.as('alice', requestArgs('pagerduty:PGR0VU2'));
      expectExit(r, 0, 'pre-approved request');
      assert.match(r.stdout, /Active now pre-approved by incident pagerduty:PGR0VU2 \(rule api-outage\)/);
      const listed = json(await s.as('alice', ['request', 'list', '--state', 'active', '--json']));
      const request = listed.requests[0];
      aliceRequest = request.id;
      assert.deepEqual([request.state, request.approvalsRequired, request.preApproval.rule], ['active', 0, 'api-outage']);
      const entries = await s.ledger();
      const event = entries.find((e) => e.type === 'incident_event');
      assert.equal(event?.data['payloadDigest'], digestOf(raw));
      const activation = entries.find((e) => e.type === 'bypass_activated' && e.target === aliceRequest);
      assert.equal(activation?.approver, 'incident:pagerduty:PGR0VU2');
      assert.equal((activation?.data['preApproval'] as { payloadDigest: string }).payloadDigest, digestOf(raw));
      expectExit(await s.as('ci', ['check', '--gate', 'deploy-freeze', '--subject', 'repo=payments-api,branch=main']), 0, 'check warns');
      await hook.waitFor('the activation alert', (d) => JSON.stringify(d.body).includes(aliceRequest));
    });

    test('refused: an unassigned responder, a scope outside the rule, a TTL above it', async () => {
      const dave = await s.as('dave', requestArgs('pagerduty:PGR0VU2'));
      expectExit(dave, 1, 'unassigned');
      assert.match(dave.stderr, /dave is not assigned to incident pagerduty:PGR0VU2 \(assigned: alice\)/);
      const scope = await s.as('alice', ['request', '--gate', 'deploy-freeze', '--scope', 'repo=checkout,branch=main', '--reason', REASON, '--incident', 'pagerduty:PGR0VU2', '--severity', 'sev1', '--ttl', '1h']);
      expectExit(scope, 1, 'scope outside the rule');
      assert.match(scope.stderr, /scope is outside/);
      expectExit(await s.as('alice', requestArgs('pagerduty:PGR0VU2', []).map((a) => (a === '1h' ? '4h' : a))), 1, 'ttl above the rule');
    });

    test('resolution revokes the pre-approved bypass (its review opens); a resolved incident and a stale delivery are refused', async () => {
      s.clock.advance(10 * 60_000);
      const resolvedAt = new Date(s.clock.now().getTime() - 5_000).toISOString();
      const resolved = await pd(pagerDutyEvent({ id: 'evt-resolved', type: 'incident.resolved', occurredAt: resolvedAt, status: 'resolved' }));
      assert.equal(resolved.status, 200, resolved.text);
      assert.deepEqual(resolved.json.revoked, [aliceRequest]);
      expectExit(await s.as('ci', ['check', '--gate', 'deploy-freeze', '--subject', 'repo=payments-api,branch=main']), 1, 'blocked after the revocation');
      const reviews = json(await s.as('bob', ['review', 'list', '--json']));
      assert.ok(reviews.reviews.some((r: { requestId: string }) => r.requestId === aliceRequest), 'the review is open');
      const after = await s.as('alice', requestArgs('pagerduty:PGR0VU2'));
      expectExit(after, 1, 'resolved incident');
      assert.match(after.stderr, /is resolved/);

      s.clock.advance(30 * 60_000);
      const stale = await pd(fixtureBytes(PAGERDUTY_EXAMPLE));
      assert.equal(stale.status, 400);
      assert.match(stale.json.error.message, /stale/);
    });

    test('a generic signed webhook pre-approves too; a bad signature does not; the ledger verifies', async () => {
      const now = s.clock.now();
      const raw = Buffer.from(JSON.stringify({ id: 'evt-g1', occurredAt: new Date(now.getTime() - 1_000).toISOString(), incident: { id: 'INC-42', service: 'checkout', urgency: 'high', status: 'triggered', assignees: ['alice'] } }));
      const ts = Math.floor(now.getTime() / 1000);
      const post = (signature: string) => s.call('POST', '/v1/incidents/status/webhook', { raw, headers: { 'content-type': 'application/json', 'x-breakglass-timestamp': String(ts), 'x-breakglass-signature': signature } });
      assert.equal((await post(signGenericWebhook('wrong', ts, raw))).status, 401);
      assert.equal((await post(signGenericWebhook(SECRETS.BG_GENERIC_SECRET, ts, raw))).json.outcome, 'applied');
      const r = await s.as('alice', ['request', '--gate', 'deploy-freeze', '--scope', 'repo=checkout,branch=main', '--reason', REASON, '--incident', 'status:INC-42', '--severity', 'sev2', '--ttl', '15m', '--json']);
      expectExit(r, 0, 'generic pre-approval');
      assert.equal(json(r).request.state, 'active');
      expectExit(await s.as('admin', ['ledger', 'verify', '--no-save', '--json']), 0, 'ledger verify');
    });
  });

  describe(`Opsgenie pre-approval through the CLI (${backend})`, { concurrency: false }, () => {
    let s: Issue15Store;
    const og = (name: string, token = SECRETS.BG_OG_TOKEN) => s.call('POST', '/v1/incidents/opsgenie/webhook', { raw: fixtureBytes(name), headers: { 'content-type': 'application/json', 'x-breakglass-token': token } });
    const cite = 'opsgenie:052652ac-5d1c-464a-812a-7dd18bbfba8c';

    before(async () => {
      s = await startIssue15Store(backend, POLICY('http://127.0.0.1:9'), PEOPLE, { clockAt: '2015-01-05T10:03:20.000Z' });
    });
    after(async () => s?.close());

    test('documented alert actions with the shared token: whoever owns the alert is pre-approved; closing revokes', async () => {
      assert.equal((await og(OPSGENIE.create, 'wrong-token')).status, 401);
      assert.equal((await og(OPSGENIE.create)).json.outcome, 'applied');
      const early = await s.as('fili', requestArgs(cite));
      expectExit(early, 1, 'fili is not the owner yet');
      assert.match(early.stderr, /fili is not assigned/);
      s.clock.advance(30_000);
      assert.equal((await og(OPSGENIE.acknowledge)).json.outcome, 'applied');
      const r = await s.as('fili', requestArgs(cite, ['--json']));
      expectExit(r, 0, 'the owner is pre-approved');
      const request = json(r).request;
      assert.equal(request.state, 'active');
      s.clock.advance(150_000);
      assert.equal((await og(OPSGENIE.assignOwnership)).json.outcome, 'applied');
      const closed = await og(OPSGENIE.close);
      assert.deepEqual(closed.json.revoked, [request.id]);
      expectExit(await s.as('ci', ['check', '--gate', 'deploy-freeze', '--subject', 'repo=payments-api,branch=main']), 1, 'blocked after close');
    });
  });
}
