import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notificationNeedsRead } from '../../../../../grant-store/storage/postgres/ledger-feed';

test('a ledger NOTIFY is read back unless its seq was delivered already or is this instance\'s own commit in flight', () => {
  const own = new Map([[12, 1]]);
  // Our own commit's wake-up: deliverCommitted hands its entries over, no read.
  assert.equal(notificationNeedsRead('12', 9, own), false);
  // Already delivered.
  assert.equal(notificationNeedsRead('9', 9, own), false);
  assert.equal(notificationNeedsRead('3', 9, own), false);
  // Another instance's commit, below or above ours: read.
  assert.equal(notificationNeedsRead('10', 9, own), true);
  assert.equal(notificationNeedsRead('13', 9, own), true);
  assert.equal(notificationNeedsRead('12', 9, new Map()), true);
  // No payload or one that is not a seq (an older writer, a manual NOTIFY): read.
  assert.equal(notificationNeedsRead(undefined, 9, own), true);
  assert.equal(notificationNeedsRead('', 9, own), true);
  assert.equal(notificationNeedsRead('wake', 9, own), true);
  assert.equal(notificationNeedsRead('12.5', 9, own), true);
});
