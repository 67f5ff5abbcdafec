import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { receiveIncidentWebhook, type IncidentDeps } from '../../../../grant-store/incidents/incident-service';
import { signGenericWebhook } from '../../../../grant-store/incidents/webhook-auth';
import { createRequest } from '../../../../grant-store/service/request-service';
import { checkGate } from '../../../../grant-store/service/check-service';
import { timelineItem } from '../../../../grant-store/service/timeline';
import { foldTimeline } from '../../../../shared/domain/review-timeline';
import { AppError } from '../../../../shared/errors';
import { OPSGENIE, PAGERDUTY_EXAMPLE, fixtureBytes, pagerDutyEvent, pagerDutySignature } from '../../../support/incident-fixtures';
import { startHarness, type Harness } from '../service-harness';
import { recordPolicyLoaded } from '../../../../grant-store/service/policy-service';
import { auditLedger } from '../../../../shared/ledger/semantic-audit';
import { secretLookup } from '../../../../grant-store/store-config';

const POLICY = `version: 1
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
  - id: ci-tests
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
    - id: opsgenie
      kind: opsgenie
      secretEnv: BG_OG_TOKEN
    - id: status
      kind: generic
      secretEnv: BG_GENERIC_SECRET
  responders:
    - principal: alice
      ids: { pagerduty: [PTUXL6G] }
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
`;

const ENV = { BG_PD_SECRET: 'pd-signing-secret-0123456789abcdef', BG_OG_TOKEN: 'og-shared-token-0123456789abcdef', BG_GENERIC_SECRET: 'generic-0123456789' };
const REASON = 'API Service incident PGR0VU2: deploy the rollback through the freeze';

describe('on-call pre-approval (service, SQLite)', () => {
  let h: Harness;
  let dir: string;
  let deps: IncidentDeps;
  const warnings: string[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-incidents-'));
    await writeFile(join(dir, 'policy.yaml'), POLICY);
    h = await startHarness(join(dir, 'policy.yaml'));
    // The policy in force goes first in the ledger, as the store writes it at start (the audit test replays it).
    await recordPolicyLoaded(h.deps, { principal: 'system', roles: [], sourceAddress: null });
    deps = { ...h.deps, secrets: secretLookup(ENV), warn: (m) => warnings.push(m) };
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });
  const pd = (raw: Buffer, headers: Record<string, string> = {}) => receiveIncidentWebhook(deps, 'pagerduty', { 'x-pagerduty-signature': pagerDutySignature(raw, ENV.BG_PD_SECRET), ...headers }, raw);
  const ask = (who: string, extra: Record<string, unknown> = {}) => createRequest(h.deps, h.caller(who, 'requester'), { gate: 'deploy-freeze', scope: { repo: 'payments-api', branch: 'main' }, reason: REASON, incidentRef: 'pagerduty:PGR0VU2', severity: 'sev1', ttl: '1h', ...extra });

  test('PagerDuty: documented payload signed as PagerDuty signs it → the assigned responder is pre-approved; resolution revokes', async () => {
    h.now.ms = Date.parse('2020-10-02T18:45:30.000Z');
    // Before any webhook the incident is unknown.
    await assert.rejects(ask('alice'), (e: unknown) => e instanceof AppError && e.code === 'forbidden' && /unknown incident pagerduty:PGR0VU2/.test(e.message));
    const applied = await pd(fixtureBytes(PAGERDUTY_EXAMPLE));
    assert.equal(applied.outcome, 'applied');
    const created = await ask('alice');
    const r = created.request;
    assert.deepEqual([r.state, r.approvalsRequired, r.preApproval?.rule, r.preApproval?.eventSeq], ['active', 0, 'api-outage', applied.seq]);
    const [entry] = await h.store.getLedgerEntries(applied.seq!, 1);
    assert.equal(r.preApproval?.payloadDigest, entry?.data['payloadDigest']);
    assert.deepEqual(entry?.data['assignedPrincipals'], ['alice']);

    // Refusals: unassigned requester, scope outside the rule, another gate, longer TTL.
    await assert.rejects(ask('dave'), /dave is not assigned/);
    await assert.rejects(ask('alice', { scope: { repo: 'checkout', branch: 'main' } }), /scope is outside/);
    await assert.rejects(ask('alice', { gate: 'ci-tests' }), /do not cover gate ci-tests/);
    await assert.rejects(ask('alice', { ttl: '4h' }), /grants at most 1h/);

    // Reassigned to dave: now dave is, alice is not.
    h.now.ms = Date.parse('2020-10-02T18:50:00.000Z');
    await pd(pagerDutyEvent({ id: 'evt-reassigned', type: 'incident.reassigned', occurredAt: '2020-10-02T18:49:00.000Z', status: 'acknowledged', assignees: ['PDAVE01'] }));
    await assert.rejects(ask('alice'), /alice is not assigned/);
    const daves = await ask('dave');
    assert.equal(daves.request.state, 'active');

    // Gates evaluate under the pre-approved bypasses while the incident runs.
    for (let i = 0; i < 5; i++) assert.equal((await checkGate(h.deps, h.caller('ci', 'gate'), { gate: r.gate, subject: r.scope })).verdict, 'warn');

    // Resolved: both pre-approved bypasses are revoked in the same transaction, each with its review.
    h.now.ms = Date.parse('2020-10-02T19:00:05.000Z');
    const resolved = await pd(pagerDutyEvent({ id: 'evt-resolved', type: 'incident.resolved', occurredAt: '2020-10-02T19:00:00.000Z', status: 'resolved' }));
    assert.deepEqual(resolved.revoked.sort(), [r.id, daves.request.id].sort());
    for (const id of resolved.revoked) {
      assert.equal((await h.store.getRequest(id))?.state, 'revoked');
      const review = await h.store.getReviewByRequest(id);
      assert.ok(review);
      // Its timeline (read before the resolution's transaction, the rest inside it) is the fold of every entry.
      const entries = (await h.store.ledgerEntriesForTarget(id)).filter((e) => e.type !== 'review_opened' && e.type !== 'review_completed');
      assert.deepEqual(review.timeline, foldTimeline(entries.map(timelineItem)));
      assert.equal(review.timeline.at(-1)?.type, 'bypass_revoked');
    }
    // The five evaluations went to one of the two bypasses (both cover the scope): its review shows them as one run.
    const runs = await Promise.all(resolved.revoked.map(async (id) => (await h.store.getReviewByRequest(id))?.timeline.find((t) => t.type === 'evaluation_under_bypass')?.run?.count));
    assert.deepEqual(runs.filter((n) => n !== undefined), [5]);
    await assert.rejects(ask('dave'), /is resolved/);
  });

  test('forged, stale, replayed and reused-id webhooks change nothing', async () => {
    h.now.ms = Date.parse('2020-10-02T19:20:00.000Z');
    const raw = pagerDutyEvent({ id: 'evt-second-incident', type: 'incident.triggered', occurredAt: '2020-10-02T19:19:00.000Z', status: 'triggered' });
    const size = await h.store.ledgerSize();
    await assert.rejects(receiveIncidentWebhook(deps, 'pagerduty', { 'x-pagerduty-signature': pagerDutySignature(raw, 'not-the-secret') }, raw), (e: unknown) => e instanceof AppError && e.code === 'unauthenticated');
    await assert.rejects(receiveIncidentWebhook(deps, 'pagerduty', {}, raw), (e: unknown) => e instanceof AppError && e.code === 'unauthenticated');
    await assert.rejects(receiveIncidentWebhook(deps, 'nope', {}, raw), (e: unknown) => e instanceof AppError && e.code === 'not_found');
    // The documented example is from 18:45, more than maxEventAge (30m) ago: stale.
    await assert.rejects(pd(fixtureBytes(PAGERDUTY_EXAMPLE)), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && /stale/.test(e.message));
    assert.equal(await h.store.ledgerSize(), size);
    assert.equal((await pd(raw)).outcome, 'applied');
    const after = await h.store.ledgerSize();
    assert.equal((await pd(raw)).outcome, 'duplicate', 'a re-delivery of the same event');
    const reused = Buffer.concat([raw, Buffer.from('\n')]);
    await assert.rejects(pd(reused), (e: unknown) => e instanceof AppError && e.code === 'conflict');
    assert.equal(await h.store.ledgerSize(), after);
    assert.ok(warnings.some((w) => /does not verify/.test(w)));
  });

  test('Opsgenie: documented alert actions with the shared token; ownership decides who is assigned', async () => {
    const og = (name: string, token = ENV.BG_OG_TOKEN) => receiveIncidentWebhook(deps, 'opsgenie', { 'x-breakglass-token': token }, fixtureBytes(name));
    h.now.ms = Date.parse('2015-01-05T10:03:20.000Z');
    await assert.rejects(og(OPSGENIE.create, 'wrong-token'), (e: unknown) => e instanceof AppError && e.code === 'unauthenticated');
    assert.equal((await og(OPSGENIE.create)).outcome, 'applied');
    const cite = { incidentRef: 'opsgenie:052652ac-5d1c-464a-812a-7dd18bbfba8c' };
    await assert.rejects(ask('fili', cite), /fili is not assigned/); // paged recipients are recipient1/2
    h.now.ms = Date.parse('2015-01-05T10:03:50.000Z');
    assert.equal((await og(OPSGENIE.acknowledge)).outcome, 'applied'); // fili acknowledges: owner
    const created = await ask('fili', cite);
    assert.equal(created.request.state, 'active');
    h.now.ms = Date.parse('2015-01-05T10:06:20.000Z');
    await og(OPSGENIE.assignOwnership); // owner becomes user2@ifountain.com (no principal)
    await assert.rejects(ask('fili', cite), /fili is not assigned/);
    const closed = await og(OPSGENIE.close);
    assert.deepEqual(closed.revoked, [created.request.id]);
  });

  test('generic webhook: HMAC over timestamp and body, strict payload', async () => {
    h.now.ms = Date.parse('2026-11-26T10:00:10.000Z');
    const raw = Buffer.from(JSON.stringify({ id: 'evt-g1', occurredAt: '2026-11-26T10:00:00Z', incident: { id: 'INC-42', service: 'checkout', urgency: 'high', status: 'triggered', assignees: ['alice'] } }));
    const ts = Math.floor(h.now.ms / 1000);
    const ok = await receiveIncidentWebhook(deps, 'status', { 'x-breakglass-timestamp': String(ts), 'x-breakglass-signature': signGenericWebhook(ENV.BG_GENERIC_SECRET, ts, raw) }, raw);
    assert.equal(ok.outcome, 'applied');
    await assert.rejects(receiveIncidentWebhook(deps, 'status', { 'x-breakglass-timestamp': String(ts - 600), 'x-breakglass-signature': signGenericWebhook(ENV.BG_GENERIC_SECRET, ts - 600, raw) }, raw), (e: unknown) => e instanceof AppError && e.code === 'unauthenticated');
    // No rule for this source: a citation is refused with the reason.
    await assert.rejects(ask('alice', { incidentRef: 'status:INC-42' }), /alice is not assigned|no pre-approval rule covers/);
  });

  test('a source without its secret configured refuses everything (fails closed)', async () => {
    const raw = fixtureBytes(PAGERDUTY_EXAMPLE);
    await assert.rejects(receiveIncidentWebhook({ ...deps, secrets: secretLookup({}) }, 'pagerduty', { 'x-pagerduty-signature': pagerDutySignature(raw, ENV.BG_PD_SECRET) }, raw), (e: unknown) => e instanceof AppError && e.code === 'unavailable' && /BG_PD_SECRET/.test(e.message));
  });

  test('the semantic audit replays pre-approvals without a violation, and names one without the incident behind it', async () => {
    const all = await h.store.getLedgerEntries(0, await h.store.ledgerSize());
    const pre = all.filter((e) => e.type === 'bypass_activated' && typeof e.approver === 'string' && e.approver.startsWith('incident:'));
    assert.ok(pre.length > 0, 'the tests above pre-approved bypasses');
    assert.deepEqual(auditLedger(all).violations, []);
    const withoutIncidents = auditLedger(all.filter((e) => e.type !== 'incident_event')).violations;
    assert.ok(withoutIncidents.length >= pre.length && withoutIncidents.every((v) => v.kind === 'pre_approval_invalid'), JSON.stringify(withoutIncidents));
  });
});
