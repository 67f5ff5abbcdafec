import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haltMessage, sessionNotification } from '../../../../electron/core/compose-console';
import { sessionStatus } from '../../../../electron/core/session/connection-tracker';

test('the store halt record becomes one line; a healthy log is null', () => {
  assert.equal(haltMessage(null), null);
  assert.equal(haltMessage(undefined), null);
  assert.equal(haltMessage('rows edited behind the store'), 'rows edited behind the store');
  assert.equal(haltMessage({ since: '2026-11-30T03:00:00.000Z', seq: 41, table: 'ledger_entries', reason: 'stored leaf differs from the checkpoint' }), 'stored leaf differs from the checkpoint (table ledger_entries, entry 41)');
  // The ledger guard's reasons name the table and the entry already: not said twice.
  const guard = 'state differs from the ledger: table requests, row req_1, field column expires_at: holds "2099-01-01T00:00:00.000Z" (ledger entry 27 says "2026-11-30T12:37:32.497Z")';
  assert.equal(haltMessage({ since: 'T', seq: 27, table: 'requests', reason: guard }), guard);
  assert.equal(haltMessage({ since: 'T', seq: 270, table: 'requests', reason: guard }), `${guard} (entry 270)`);
});

test('one status, most serious first, with one sentence for sidebar, banner and tray', () => {
  const base = { reach: 'online' as const, reachSince: null, lastError: null, rejected: null, halted: null, enrolled: true, lastSyncAt: null };
  assert.equal(sessionStatus(base).status, 'connected');
  assert.equal(sessionStatus({ ...base, enrolled: false }).status, 'key_not_enrolled');
  assert.equal(sessionStatus({ ...base, reach: 'reconnecting', reachSince: 'T' }).status, 'reconnecting');
  assert.equal(sessionStatus({ ...base, reach: 'offline', reachSince: 'T', enrolled: false }).status, 'offline');
  const halted = sessionStatus({ ...base, reach: 'offline', halted: { at: 'T', message: 'm' } });
  assert.equal(halted.status, 'log_halted');
  const rejected = sessionStatus({ ...base, halted: { at: 'T', message: 'm' }, rejected: { at: 'T2', message: 'HTTP 401' } });
  assert.deepEqual([rejected.status, rejected.since], ['token_rejected', 'T2']);
  assert.match(rejected.text, /sign in again/);
  assert.match(sessionNotification('log_halted', 'The store halted its ledger: m')!.title, /halted/);
  assert.equal(sessionNotification('reconnecting', 'x'), undefined, 'a retry is not worth a notification');
});
