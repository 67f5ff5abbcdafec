import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signWebhook, verifyWebhookSignature } from '../../../../grant-store/alerts/webhook-signature';
import { DEFAULT_RETRY_POLICY, retryDelayMs } from '../../../../grant-store/alerts/outbox';

const BODY = '{"event":"bypass_activated"}';

test('HMAC-SHA256 over "<timestamp>.<body>" matches an independent computation (openssl dgst -hmac)', () => {
  assert.equal(signWebhook('whsec_test', 1_700_000_000, BODY), 'sha256=380d89ce77211ae213b6103f423d9ce8d1fd1e9f209ab3c1c95d29a957d219be');
});

test('verification refuses a wrong secret, a changed body, a changed or stale timestamp, a malformed header', () => {
  const signature = signWebhook('whsec_test', 1_700_000_000, BODY);
  const ok = { timestamp: '1700000000', signature };
  assert.equal(verifyWebhookSignature('whsec_test', ok, BODY, 1_700_000_100), true);
  assert.equal(verifyWebhookSignature('whsec_other', ok, BODY, 1_700_000_100), false);
  assert.equal(verifyWebhookSignature('whsec_test', ok, `${BODY} `, 1_700_000_100), false);
  assert.equal(verifyWebhookSignature('whsec_test', { ...ok, timestamp: '1700000001' }, BODY, 1_700_000_100), false);
  assert.equal(verifyWebhookSignature('whsec_test', ok, BODY, 1_700_000_301), false, 'older than 5 minutes: a replay');
  assert.equal(verifyWebhookSignature('whsec_test', { ...ok, signature: signature.slice(0, -1) }, BODY, 1_700_000_100), false);
  assert.equal(verifyWebhookSignature('whsec_test', { timestamp: undefined, signature }, BODY, 1_700_000_100), false);
  assert.equal(verifyWebhookSignature('whsec_test', { timestamp: '17e8', signature }, BODY, 1_700_000_100), false);
});

test('retry backoff doubles from the base and is capped', () => {
  const policy = { maxAttempts: 8, baseDelayMs: 5_000, maxDelayMs: 60_000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, policy)), [5_000, 10_000, 20_000, 40_000, 60_000, 60_000]);
  // the defaults retry for about 10.5 minutes in all
  const total = Array.from({ length: DEFAULT_RETRY_POLICY.maxAttempts - 1 }, (_, i) => retryDelayMs(i + 1, DEFAULT_RETRY_POLICY)).reduce((a, b) => a + b, 0);
  assert.equal(total, 635_000);
});
