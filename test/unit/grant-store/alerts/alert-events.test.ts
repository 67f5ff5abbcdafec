import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALERTING_ENTRY_TYPES, alertEventForFinding, alertEventsForEntry } from '../../../../grant-store/alerts/alert-events';
import type { BypassRequest } from '../../../../shared/domain/request';
import { isCriticalTier } from '../../../../grant-store/alerts/critical-tier';
import { notificationsFor } from '../../../../grant-store/alerts/notifications';
import { renderWebhookBody } from '../../../../grant-store/alerts/webhook-payload';
import { LedgerEntryTypeSchema, type LedgerEntry } from '../../../../shared/domain/ledger-entry';
import { PolicySchema } from '../../../../shared/domain/policy';
import { findingsReport } from '../../../../grant-store/reports/findings-report';
import { dominatingGate, input } from '../reports/fixtures';

const policy = PolicySchema.parse({
  version: 1,
  tiers: {
    low: { approvals: 1, approverGroups: ['leads'], maxTtl: '24h' },
    watched: { approvals: 1, approverGroups: ['leads'], maxTtl: '24h', notify: ['ciso'] },
    dual: { approvals: 2, approverGroups: ['leads'], maxTtl: '4h' },
  },
  gates: [
    { id: 'ci-tests', kind: 'slow', tier: 'low' },
    // slow: these tiers are about which alerts go out, not strong enough for a safety gate
    { id: 'secret-scan', kind: 'slow', tier: 'watched' },
    { id: 'signing', kind: 'slow', tier: 'dual' },
  ],
  teams: { payments: { members: ['alice'] } },
  approvers: { leads: ['bob', 'carol'] },
});

let seq = 0;
function entry(type: LedgerEntry['type'], target: string, gate: string | null, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  seq += 1;
  return { seq, time: `2026-11-26T10:00:${String(seq).padStart(2, '0')}.000Z`, type, actor: 'alice', actorRole: 'requester', target, gate, reason: 'checkout 500s in production since 09:40', incidentRef: 'INC-7', approver: null, expiresAt: null, sourceAddress: '127.0.0.1', data: {}, ...extra };
}

test('critical tier = two approvals or a notify list', () => {
  assert.equal(isCriticalTier(policy.tiers.low!), false);
  assert.equal(isCriticalTier(policy.tiers.watched!), true);
  assert.equal(isCriticalTier(policy.tiers.dual!), true);
});

test('alert events: activations, critical requests and decisions; nothing else', () => {
  const kinds = (e: LedgerEntry) => alertEventsForEntry(e, policy, undefined).map((a) => `${a.event}:${a.key}`);
  const created = entry('request_created', 'req_a', 'ci-tests');
  assert.deepEqual(kinds(created), [], 'a request on a low tier is not critical');
  const critical = entry('request_created', 'req_b', 'signing');
  assert.deepEqual(kinds(critical), [`critical_request:critical_request:${critical.seq}`]);
  const watched = entry('request_created', 'req_c', 'secret-scan');
  const [event] = alertEventsForEntry(watched, policy, undefined);
  assert.deepEqual(event?.data.notify, ['ciso']);
  const activated = entry('bypass_activated', 'req_a', 'ci-tests', { actor: 'bob', approver: 'bob', expiresAt: '2026-11-26T11:00:00.000Z' });
  assert.deepEqual(kinds(activated), [`bypass_activated:bypass_activated:${activated.seq}`]);
  const decision = entry('decision', 'req_a', 'ci-tests', { actor: 'bob', data: { decision: 'deny', comment: 'use the normal path' } });
  assert.deepEqual(kinds(decision), [`decision:decision:${decision.seq}`]);
  for (const type of ['evaluation_under_bypass', 'bypass_expired', 'alert_delivered', 'alert_failed', 'policy_loaded'] as const) {
    assert.deepEqual(kinds(entry(type, 'req_a', 'ci-tests')), [], type);
  }
});

test('a finding becomes a deviance_finding event keyed by the finding id', () => {
  const [finding] = findingsReport(input({ requests: dominatingGate })).findings;
  assert.ok(finding);
  const event = alertEventForFinding(finding, '2026-11-26T12:00:00.000Z');
  assert.equal(event.key, 'deviance_finding:gate_dominates:integration:2026-W48');
  assert.equal(event.title, 'Fix the gate: Gate integration takes 71% of all bypasses');
  assert.deepEqual((event.data.evidence as { requestIds: string[] }).requestIds, ['req_int5', 'req_int4', 'req_int3', 'req_int2', 'req_int1']);
});

test('Slack body: text and blocks, with & < > escaped; JSON body carries the facts', () => {
  const activated = entry('bypass_activated', 'req_a', 'ci-tests', { reason: 'fix <script> & deploy', approver: 'bob' });
  const [event] = alertEventsForEntry(activated, policy, undefined);
  assert.ok(event);
  const slack = JSON.parse(renderWebhookBody('slack', event, 'dlv_1'));
  assert.deepEqual(Object.keys(slack), ['text', 'blocks']);
  assert.ok(slack.text.includes('fix &lt;script&gt; &amp; deploy'));
  assert.deepEqual(slack.blocks.map((b: { type: string }) => b.type), ['header', 'section', 'context']);
  const json = JSON.parse(renderWebhookBody('json', event, 'dlv_1'));
  assert.equal(json.id, 'dlv_1');
  assert.equal(json.event, 'bypass_activated');
  assert.equal(json.data.reason, 'fix <script> & deploy');
});

test('notifications: the requester hears of every decision; the notify list of critical requests', () => {
  const entries = [
    entry('request_created', 'req_w', 'secret-scan'),
    entry('decision', 'req_w', 'secret-scan', { actor: 'bob', data: { decision: 'request_info', comment: 'which commit?' } }),
    entry('info_provided', 'req_w', 'secret-scan'),
    entry('decision', 'req_w', 'secret-scan', { actor: 'bob', data: { decision: 'approve', comment: 'ok' } }),
    entry('bypass_activated', 'req_w', 'secret-scan', { actor: 'bob', expiresAt: '2026-11-26T11:00:00.000Z' }),
    entry('evaluation_under_bypass', 'req_w', 'secret-scan', { actor: 'ci' }),
    entry('bypass_expired', 'req_w', 'secret-scan', { actor: 'system' }),
    entry('request_created', 'req_x', 'ci-tests', { actor: 'dave' }),
    entry('decision', 'req_x', 'ci-tests', { actor: 'bob', data: { decision: 'deny', comment: 'use the normal path' } }),
  ];
  const alice = notificationsFor('alice', entries, policy);
  assert.deepEqual(
    alice.map((n) => [n.kind, n.decision, n.because]),
    [
      ['decision', 'request_info', 'requester'],
      ['decision', 'approve', 'requester'],
      ['bypass_activated', null, 'requester'],
      ['bypass_expired', null, 'requester'],
    ],
  );
  assert.equal(alice[0]?.text, 'bob decided request_info on req_w (gate secret-scan): which commit?');
  assert.deepEqual(
    notificationsFor('ciso', entries, policy).map((n) => [n.kind, n.requestId, n.because]),
    [
      ['critical_request', 'req_w', 'notify_list'],
      ['bypass_activated', 'req_w', 'notify_list'],
    ],
  );
  assert.deepEqual(notificationsFor('dave', entries, policy).map((n) => n.decision), ['deny']);
  assert.deepEqual(notificationsFor('alice', entries, policy, entries[3]!.seq).map((n) => n.kind), ['bypass_activated', 'bypass_expired']);
  assert.deepEqual(notificationsFor('bob', entries, policy), []);
});

test('entry types outside ALERTING_ENTRY_TYPES never alert (the dispatcher skips them without reading their request)', () => {
  const request = { id: 'req_1', requester: 'alice', team: 'payments', scope: { repo: 'x' }, severity: 'sev1', expiresAt: '2026-11-26T11:00:00.000Z' } as unknown as BypassRequest;
  for (const type of LedgerEntryTypeSchema.options) {
    if (ALERTING_ENTRY_TYPES.has(type)) continue;
    for (const gate of ['ci-tests', 'secret-scan', 'signing', null]) {
      assert.deepEqual(alertEventsForEntry(entry(type, 'req_1', gate, { data: { decision: 'approve', credentialId: 'em_1', why: 'burned', week: '2026-W48' } }), policy, request), [], `${type} on ${String(gate)}`);
    }
  }
  // The dispatcher reads only lifecycleEntries (every type but this one), so it must never alert.
  assert.equal(ALERTING_ENTRY_TYPES.has('evaluation_under_bypass'), false);
  // And the set is not vacuous: an activation alerts.
  assert.equal(alertEventsForEntry(entry('bypass_activated', 'req_1', 'ci-tests'), policy, request).length, 1);
});
