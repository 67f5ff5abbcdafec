import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditRecord, auditRecordMatches } from '../../../../grant-store/reports/audit-records';
import { AuditRecordSchema } from '../../../../shared/domain/audit';
import type { LedgerEntry } from '../../../../shared/domain/ledger-entry';
import { bypass, review, ago, DAY } from './fixtures';

const request = bypass('req_a1', 'integration', DAY, { incidentRef: 'INC-1190', approvals: [{ approver: 'bob', at: ago(DAY) }, { approver: 'carol', at: ago(DAY) }] });
const join = { requests: new Map([[request.id, request]]), reviews: new Map([[request.id, review({ id: 'rev_a1', requestId: request.id, openedAt: ago(DAY - 3_600_000) })]]) };

function entry(over: Partial<LedgerEntry>): LedgerEntry {
  return { seq: 7, time: '2026-11-25T12:00:00.000Z', type: 'decision', actor: 'carol', actorRole: 'approver', target: 'req_a1', gate: 'integration', reason: 'checkout 500s in production, fix verified in staging', incidentRef: 'INC-1190', approver: 'carol', expiresAt: null, sourceAddress: '10.4.2.19', data: {}, ...over };
}

test('an audit record answers who, what, when, why, which gate, who approved, until when, from where, review status', () => {
  const decision = entry({ data: { decision: 'approve', comment: 'ok', bundle: { huge: true } }, kind: 'dsse', apiVersion: '0.0.1', spec: { x: 1 } } as Partial<LedgerEntry>);
  const record = auditRecord(decision, join);
  AuditRecordSchema.parse(record);
  assert.deepEqual(record, {
    seq: 7,
    time: '2026-11-25T12:00:00.000Z',
    actor: 'carol',
    actorRole: 'approver',
    action: 'decision',
    target: 'req_a1',
    requestId: 'req_a1',
    team: 'payments',
    gate: 'integration',
    reason: 'checkout 500s in production, fix verified in staging',
    incidentRef: 'INC-1190',
    severity: 'sev2',
    decision: 'approve',
    approvers: 'carol',
    expiresAt: request.expiresAt,
    sourceAddress: '10.4.2.19',
    reviewId: 'rev_a1',
    reviewStatus: 'review_open',
    reviewFinding: null,
    // the signed bundle and the Rekor body stay in the ledger export
    details: '{"comment":"ok","decision":"approve"}',
  });
  // a review_completed entry (target = the request) carries no approver: the request's approvers are named
  const completed = auditRecord(entry({ type: 'review_completed', approver: null, data: { reviewId: 'rev_a1', finding: 'justified' } }), join);
  assert.equal(completed.approvers, 'bob,carol');
  assert.equal(completed.decision, null);
  // entries about no request (a token, a policy) have no request fields
  const policy = auditRecord(entry({ type: 'policy_loaded', target: 'sha256:abc', gate: null, actor: 'system', actorRole: 'system', approver: null, incidentRef: null, reason: null, data: { hash: 'abc' } }), join);
  assert.deepEqual([policy.requestId, policy.team, policy.reviewStatus, policy.expiresAt], [null, null, null, null]);
});

test('filters: [from, to) on time, gate, team, actor', () => {
  const record = auditRecord(entry({}), join);
  assert.equal(auditRecordMatches(record, { from: '2026-11-25T12:00:00.000Z' }), true);
  assert.equal(auditRecordMatches(record, { to: '2026-11-25T12:00:00.000Z' }), false);
  assert.equal(auditRecordMatches(record, { to: '2026-11-25T12:00:00.001Z' }), true);
  assert.equal(auditRecordMatches(record, { from: '2026-11-25T12:00:00.001Z' }), false);
  assert.equal(auditRecordMatches(record, { gate: 'integration', team: 'payments', actor: 'carol' }), true);
  assert.equal(auditRecordMatches(record, { gate: 'perf' }), false);
  assert.equal(auditRecordMatches(record, { team: 'search' }), false);
  assert.equal(auditRecordMatches(record, { actor: 'bob' }), false);
});
