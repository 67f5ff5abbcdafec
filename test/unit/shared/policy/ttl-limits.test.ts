import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { approvedTtlErrors, effectiveTtl, requestedTtlErrors, tierTtlErrors } from '../../../../shared/policy/ttl-limits';
import { testPolicy } from './policy-fixture';

describe('TTL limits', () => {
  const policy = testPolicy();

  test('a TTL from the list within the tier max is fine', () => {
    assert.deepEqual(tierTtlErrors(policy, policy.tiers.high!, '4h'), []);
    assert.deepEqual(tierTtlErrors(policy, policy.tiers.high!, '15m'), []);
  });
  test('a TTL not in the list is refused with the choices', () => {
    const errors = requestedTtlErrors(policy, '24h', '2h');
    assert.equal(errors[0]?.path, 'ttl');
    assert.match(errors[0]!.message, /15m, 1h, 4h, 24h, 7d/);
  });
  test('a TTL above the tier max is refused', () => {
    const errors = tierTtlErrors(policy, policy.tiers.critical!, '4h');
    assert.match(errors[0]!.message, /above the maximum of 1h/);
  });
  test('an approval may shorten, never lengthen', () => {
    assert.deepEqual(approvedTtlErrors('1h', '15m'), []);
    assert.deepEqual(approvedTtlErrors('1h', '1h'), []);
    assert.match(approvedTtlErrors('1h', '4h')[0]!.message, /never lengthen/);
    assert.match(approvedTtlErrors('60m', '2h')[0]!.message, /never lengthen/);
  });
  test('the bypass window is the shortest granted TTL', () => {
    assert.equal(effectiveTtl(['1h', '15m']), '15m');
    assert.equal(effectiveTtl(['4h']), '4h');
    assert.equal(effectiveTtl(['1d', '24h', '7d']), '1d');
    assert.throws(() => effectiveTtl([]));
  });
});
