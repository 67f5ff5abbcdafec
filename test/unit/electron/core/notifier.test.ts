import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BypassRequest } from '../../../../shared/domain/request';
import type { Policy } from '../../../../shared/domain/policy';
import { DEFAULT_SETTINGS, type Settings } from '../../../../shared/ipc/contract';
import { NotifierRules, isCriticalTier } from '../../../../electron/core/notifier';

const NOW = new Date('2026-06-22T03:00:00.000Z');
const policy = {
  tiers: {
    low: { approvals: 1, hardwareKeyRequired: false },
    strict: { approvals: 2, hardwareKeyRequired: false },
    hsm: { approvals: 1, hardwareKeyRequired: true },
  },
} as unknown as Policy;

let counter = 0;
function request(overrides: Partial<BypassRequest> = {}): BypassRequest {
  counter++;
  return {
    id: `req_${String(counter).padStart(16, '0')}`,
    requester: 'alice',
    team: 'payments',
    gate: 'deploy-freeze',
    gateKind: 'slow',
    scope: { repo: 'payments-api', branch: 'main' },
    severity: 'sev2',
    tier: 'low',
    ttl: '1h',
    incidentRef: 'INC-1',
    state: 'pending',
    ...overrides,
  } as BypassRequest;
}

const ctx = (settings: Partial<Settings> = {}) => ({ me: 'bob', settings: { ...DEFAULT_SETTINGS, ...settings }, policy, now: NOW });

test('notifies for sev1/sev2 and critical tiers by default, naming requester, gate, scope and severity', () => {
  const rules = new NotifierRules();
  const decision = rules.decide(request({ severity: 'sev1', gateKind: 'safety', gate: 'container-signing' }), ctx());
  assert.equal(decision.notify, true);
  if (decision.notify) {
    assert.match(decision.notification.title, /SEV1.*container-signing.*SAFETY/);
    assert.match(decision.notification.body, /alice \(payments\).*container-signing.*repo=payments-api, branch=main/);
  }
  assert.equal(rules.decide(request({ severity: 'sev3' }), ctx()).notify, false);
  assert.equal(rules.decide(request({ severity: 'sev4', tier: 'strict' }), ctx()).notify, true, 'two-approval tier is critical');
  assert.equal(rules.decide(request({ severity: 'sev4', tier: 'hsm' }), ctx()).notify, true, 'hardware-key tier is critical');
  assert.equal(rules.decide(request({ severity: 'sev4', tier: 'critical' }), ctx()).notify, true, 'a tier named critical');
});

test('never twice for the same request, never for my own, never for a non-pending one', () => {
  const rules = new NotifierRules();
  const r = request();
  assert.equal(rules.decide(r, ctx()).notify, true);
  assert.deepEqual(rules.decide(r, ctx()), { notify: false, why: 'already_notified' });
  assert.deepEqual(new NotifierRules(rules.notifiedIds).decide(r, ctx()), { notify: false, why: 'already_notified' }, 'survives a restart via notifiedIds');
  assert.deepEqual(rules.decide(request({ requester: 'bob' }), ctx()), { notify: false, why: 'own_request' });
  assert.deepEqual(rules.decide(request({ state: 'active' }), ctx()), { notify: false, why: 'not_pending' });
});

test('while paused only sev1 gets through, and what was muted is not replayed after the pause', () => {
  const rules = new NotifierRules();
  const paused = { pauseUntil: new Date(NOW.getTime() + 3_600_000).toISOString() };
  const sev2 = request({ severity: 'sev2' });
  assert.deepEqual(rules.decide(sev2, ctx(paused)), { notify: false, why: 'paused' });
  assert.deepEqual(rules.decide(request({ severity: 'sev2', tier: 'strict' }), ctx(paused)), { notify: false, why: 'paused' }, 'critical tier is paused too');
  assert.equal(rules.decide(request({ severity: 'sev1' }), ctx(paused)).notify, true);
  const expired = { pauseUntil: new Date(NOW.getTime() - 1000).toISOString() };
  assert.deepEqual(rules.decide(sev2, ctx(expired)), { notify: false, why: 'already_notified' }, 'no backlog after the pause');
  assert.equal(rules.decide(request({ severity: 'sev2' }), ctx(expired)).notify, true, 'new requests after the pause notify');
});

const item = (r: BypassRequest) => ({ request: r, gate: {} as never, approvalsSoFar: r.approvals?.length ?? 0, slaDeadline: '', incidentFlagged: Boolean(r.incidentRef) });
const none = { inbox: [], active: [], reviews: [] };

test('follow-ups fire once each: SLA running out, then overdue (incident-flagged: 15 minutes)', () => {
  const rules = new NotifierRules();
  const filed = request({ severity: 'sev2', incidentRef: 'INC-9', createdAt: new Date(NOW.getTime() - 11 * 60_000).toISOString(), messages: [] });
  const at = (ms: number) => ({ ...ctx(), now: new Date(NOW.getTime() + ms) });
  const soon = rules.followUps({ ...none, inbox: [item(filed)] }, at(0));
  assert.deepEqual(soon.map((n) => n.kind), ['sla_soon']);
  assert.match(soon[0]!.title, /SEV2 decision due in 4 min: deploy-freeze/);
  assert.deepEqual(rules.followUps({ ...none, inbox: [item(filed)] }, at(60_000)), [], 'once');
  const over = rules.followUps({ ...none, inbox: [item(filed)] }, at(5 * 60_000));
  assert.deepEqual(over.map((n) => n.kind), ['sla_overdue']);
  assert.deepEqual(rules.followUps({ ...none, inbox: [item(filed)] }, at(10 * 60_000)), [], 'once');
  const quiet = request({ severity: 'sev4', incidentRef: 'INC-9', createdAt: filed.createdAt, messages: [] });
  assert.deepEqual(rules.followUps({ ...none, inbox: [item(quiet)] }, at(5 * 60_000)), [], 'below the threshold: no SLA nagging');
});

test('the requester answering my question notifies me once per reply; their answer to someone else does not', () => {
  const rules = new NotifierRules();
  const asked = request({
    severity: 'sev3',
    incidentRef: null,
    createdAt: NOW.toISOString(),
    messages: [
      { from: 'bob', kind: 'question', text: 'Which cert?', at: '2026-06-22T03:01:00.000Z' },
      { from: 'alice', kind: 'reply', text: 'The staging CA, renewed at 03:30', at: '2026-06-22T03:02:00.000Z' },
    ],
  });
  const first = rules.followUps({ ...none, inbox: [item(asked)] }, ctx());
  assert.deepEqual(first.map((n) => [n.kind, n.title]), [['reply', 'alice answered your question: deploy-freeze']]);
  assert.equal(first[0]!.body, 'The staging CA, renewed at 03:30');
  assert.deepEqual(rules.followUps({ ...none, inbox: [item(asked)] }, ctx()), []);
  const theirs = request({ severity: 'sev3', incidentRef: null, createdAt: NOW.toISOString(), messages: [{ from: 'carol', kind: 'question', text: 'Why?', at: '2026-06-22T03:01:00.000Z' }, { from: 'alice', kind: 'reply', text: 'Because', at: '2026-06-22T03:02:00.000Z' }] });
  assert.deepEqual(rules.followUps({ ...none, inbox: [item(theirs)] }, ctx()), []);
});

test('a bypass I approved ending within 10 minutes notifies once; a review assigned to me notifies once', () => {
  const rules = new NotifierRules();
  const mine = request({ state: 'active', approvals: [{ approver: 'bob' }] as never, expiresAt: new Date(NOW.getTime() + 9 * 60_000).toISOString() });
  const later = request({ state: 'active', approvals: [{ approver: 'bob' }] as never, expiresAt: new Date(NOW.getTime() + 30 * 60_000).toISOString() });
  const others = request({ state: 'active', approvals: [{ approver: 'carol' }] as never, expiresAt: new Date(NOW.getTime() + 5 * 60_000).toISOString() });
  const expiring = rules.followUps({ ...none, active: [mine, later, others] }, ctx());
  assert.deepEqual(expiring.map((n) => [n.kind, n.requestId]), [['expiring', mine.id]]);
  assert.match(expiring[0]!.title, /ends in 9 min/);
  assert.deepEqual(rules.followUps({ ...none, active: [mine] }, ctx()), []);
  const review = { id: 'rev_0000000000000001', requestId: mine.id, gate: 'deploy-freeze', requester: 'alice', state: 'review_open', timeline: [], assignedTo: ['bob', 'dave'] } as never;
  // Decided by bob but assigned to others: not bob's to sign off.
  const notMine = { id: 'rev_0000000000000002', requestId: others.id, gate: 'deploy-freeze', requester: 'alice', state: 'review_open', timeline: [{ seq: 5, time: NOW.toISOString(), type: 'decision', actor: 'bob', summary: 'bob approved' }], assignedTo: ['carol'] } as never;
  assert.deepEqual(rules.followUps({ ...none, reviews: [review, notMine] }, ctx()).map((n) => n.kind), ['review']);
  assert.deepEqual(rules.followUps({ ...none, reviews: [review] }, ctx()), []);
});

test('follow-ups while paused: muted unless about a sev1, and not replayed after', () => {
  const rules = new NotifierRules();
  const paused = { ...ctx({ pauseUntil: new Date(NOW.getTime() + 3_600_000).toISOString() }) };
  const sev3 = request({ state: 'active', severity: 'sev3', approvals: [{ approver: 'bob' }] as never, expiresAt: new Date(NOW.getTime() + 5 * 60_000).toISOString() });
  const sev1 = request({ state: 'active', severity: 'sev1', approvals: [{ approver: 'bob' }] as never, expiresAt: new Date(NOW.getTime() + 5 * 60_000).toISOString() });
  assert.deepEqual(rules.followUps({ ...none, active: [sev3, sev1] }, paused).map((n) => n.requestId), [sev1.id]);
  assert.deepEqual(rules.followUps({ ...none, active: [sev3, sev1] }, ctx()), [], 'the muted one does not fire after the pause');
});

test('the approver can change the threshold (severities and critical tiers)', () => {
  const rules = new NotifierRules();
  const threshold = { notificationThreshold: { severities: ['sev1' as const], criticalTiers: ['hsm'] } };
  assert.equal(rules.decide(request({ severity: 'sev2' }), ctx(threshold)).notify, false);
  assert.equal(rules.decide(request({ severity: 'sev4', tier: 'strict' }), ctx(threshold)).notify, false, 'explicit list replaces the derived one');
  assert.equal(rules.decide(request({ severity: 'sev4', tier: 'hsm' }), ctx(threshold)).notify, true);
  assert.equal(isCriticalTier('anything', undefined, null), false);
});
