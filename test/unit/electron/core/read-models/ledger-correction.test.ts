import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LedgerEntry } from '../../../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../../../shared/domain/request';
import { correctFromLedger } from '../../../../../electron/core/read-models/ledger-correction';

const ID = 'req_0123456789abcdef';
const copy = { id: ID, state: 'active', activatedAt: '2026-11-30T10:00:00.000Z', expiresAt: '2026-11-30T11:00:00.000Z', closedAt: null, closedBy: null } as unknown as BypassRequest;

function entry(seq: number, type: LedgerEntry['type'], time: string, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return { seq, time, type, actor: 'system', actorRole: 'system', target: ID, gate: 'deploy-prod', reason: null, incidentRef: null, approver: null, expiresAt: null, sourceAddress: null, data: {}, ...extra } as LedgerEntry;
}

test('a copy taken while active is corrected by a newer bypass_expired entry, and says as of when', () => {
  const out = correctFromLedger(copy, [entry(7, 'bypass_activated', '2026-11-30T10:00:00.000Z'), entry(9, 'bypass_expired', '2026-11-30T11:00:01.000Z')], '2026-11-30T10:05:00.000Z', new Date('2026-11-30T10:30:00.000Z'));
  assert.equal(out.request.state, 'expired');
  assert.equal(out.request.closedAt, '2026-11-30T11:00:01.000Z');
  assert.deepEqual(out.applied, [9], 'entries older than the copy are already in it');
  assert.equal(out.asOf, '2026-11-30T11:00:01.000Z');
});

test('a revocation names who revoked; entries about other requests are ignored', () => {
  const out = correctFromLedger(copy, [entry(9, 'bypass_revoked', '2026-11-30T10:20:00.000Z', { actor: 'carol', actorRole: 'approver' }), entry(10, 'bypass_expired', '2026-11-30T10:21:00.000Z', { target: 'req_ffffffffffffffff' })], '2026-11-30T10:05:00.000Z', new Date('2026-11-30T10:30:00.000Z'));
  assert.equal(out.request.state, 'revoked');
  assert.equal(out.request.closedBy, 'carol');
  assert.deepEqual(out.applied, [9]);
});

test('with nothing newer in the mirror, an active copy past its expiry shows expired (the clock does not stop offline)', () => {
  const out = correctFromLedger(copy, [], '2026-11-30T10:05:00.000Z', new Date('2026-11-30T11:00:00.000Z'));
  assert.equal(out.request.state, 'expired');
  assert.equal(out.asOf, '2026-11-30T10:05:00.000Z');
  const still = correctFromLedger(copy, [], '2026-11-30T10:05:00.000Z', new Date('2026-11-30T10:59:59.000Z'));
  assert.equal(still.request.state, 'active');
});

test('a pending copy follows denial, a question and its answer in order', () => {
  const pending = { ...copy, state: 'pending', activatedAt: null, expiresAt: null } as unknown as BypassRequest;
  const asked = correctFromLedger(pending, [entry(3, 'info_requested', '2026-11-30T10:10:00.000Z')], '2026-11-30T10:05:00.000Z', new Date('2026-11-30T10:30:00.000Z'));
  assert.equal(asked.request.state, 'needs_info');
  const denied = correctFromLedger(pending, [entry(3, 'info_requested', '2026-11-30T10:10:00.000Z'), entry(4, 'info_provided', '2026-11-30T10:12:00.000Z'), entry(5, 'decision', '2026-11-30T10:15:00.000Z', { actor: 'bob', data: { decision: 'deny' } })], '2026-11-30T10:05:00.000Z', new Date('2026-11-30T10:30:00.000Z'));
  assert.equal(denied.request.state, 'denied');
  assert.equal(denied.request.closedBy, 'bob');
  assert.deepEqual(denied.applied, [3, 4, 5]);
});
