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

test('while paused only sev1 gets through; after the pause the rest notify again', () => {
  const rules = new NotifierRules();
  const paused = { pauseUntil: new Date(NOW.getTime() + 3_600_000).toISOString() };
  const sev2 = request({ severity: 'sev2' });
  assert.deepEqual(rules.decide(sev2, ctx(paused)), { notify: false, why: 'paused' });
  assert.deepEqual(rules.decide(request({ severity: 'sev2', tier: 'strict' }), ctx(paused)), { notify: false, why: 'paused' }, 'critical tier is paused too');
  assert.equal(rules.decide(request({ severity: 'sev1' }), ctx(paused)).notify, true);
  const expired = { pauseUntil: new Date(NOW.getTime() - 1000).toISOString() };
  assert.equal(rules.decide(sev2, ctx(expired)).notify, true);
});

test('the approver can change the threshold (severities and critical tiers)', () => {
  const rules = new NotifierRules();
  const threshold = { notificationThreshold: { severities: ['sev1' as const], criticalTiers: ['hsm'] } };
  assert.equal(rules.decide(request({ severity: 'sev2' }), ctx(threshold)).notify, false);
  assert.equal(rules.decide(request({ severity: 'sev4', tier: 'strict' }), ctx(threshold)).notify, false, 'explicit list replaces the derived one');
  assert.equal(rules.decide(request({ severity: 'sev4', tier: 'hsm' }), ctx(threshold)).notify, true);
  assert.equal(isCriticalTier('anything', undefined, null), false);
});
