import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { retryPolicyFromEnv } from '../../../../grant-store/alerts/retry-config';
import { DEFAULT_RETRY_POLICY } from '../../../../grant-store/alerts/outbox';
import { AppError } from '../../../../shared/errors';

describe('alert retry settings from the environment', () => {
  test('unset (or empty) keeps the defaults; whole numbers in range are taken', () => {
    assert.deepEqual(retryPolicyFromEnv({}), DEFAULT_RETRY_POLICY);
    assert.deepEqual(retryPolicyFromEnv({ BREAKGLASS_ALERT_MAX_ATTEMPTS: '' }), DEFAULT_RETRY_POLICY);
    assert.deepEqual(retryPolicyFromEnv({ BREAKGLASS_ALERT_RETRY_BASE_MS: '30', BREAKGLASS_ALERT_RETRY_MAX_MS: '200', BREAKGLASS_ALERT_MAX_ATTEMPTS: '3' }), { baseDelayMs: 30, maxDelayMs: 200, maxAttempts: 3 });
  });

  for (const [name, text] of [
    ['BREAKGLASS_ALERT_MAX_ATTEMPTS', 'three'],
    ['BREAKGLASS_ALERT_MAX_ATTEMPTS', '0'],
    ['BREAKGLASS_ALERT_MAX_ATTEMPTS', '-2'],
    ['BREAKGLASS_ALERT_MAX_ATTEMPTS', '101'],
    ['BREAKGLASS_ALERT_RETRY_BASE_MS', '5s'],
    ['BREAKGLASS_ALERT_RETRY_BASE_MS', '2.5'],
    ['BREAKGLASS_ALERT_RETRY_MAX_MS', '1e3'],
  ] as const) {
    test(`${name}=${JSON.stringify(text)} refuses the start, naming the variable and the value`, () => {
      assert.throws(
        () => retryPolicyFromEnv({ [name]: text }),
        (error: unknown) =>
          error instanceof AppError && error.code === 'invalid_input' && error.message.includes(name) && error.message.includes(JSON.stringify(text)) && error.fieldErrors?.[0]?.path === name,
      );
    });
  }

  test('a first delay longer than the cap is refused', () => {
    assert.throws(() => retryPolicyFromEnv({ BREAKGLASS_ALERT_RETRY_BASE_MS: '900000' }), /BREAKGLASS_ALERT_RETRY_BASE_MS: the first retry delay \(900000 ms\) is longer than the cap/);
  });
});
