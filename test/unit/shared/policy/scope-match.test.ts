import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bypassMatches, formatScope, scopeCovers, scopesEqual } from '../../../../shared/policy/scope-match';

describe('scope matching', () => {
  const bypass = { gate: 'container-signing', scope: { repo: 'payments-api', branch: 'main' } };

  test('matches the same gate when every scope attribute equals the subject', () => {
    assert.equal(bypassMatches(bypass, 'container-signing', { repo: 'payments-api', branch: 'main' }), true);
  });
  test('extra subject attributes are fine (the subject is more specific)', () => {
    assert.equal(bypassMatches(bypass, 'container-signing', { repo: 'payments-api', branch: 'main', digest: 'sha256:ab' }), true);
  });
  test('never matches another gate', () => {
    assert.equal(bypassMatches(bypass, 'ci-tests', { repo: 'payments-api', branch: 'main' }), false);
  });
  test('never matches a subject outside the scope: other value, missing attribute', () => {
    assert.equal(bypassMatches(bypass, 'container-signing', { repo: 'payments-api', branch: 'dev' }), false);
    assert.equal(bypassMatches(bypass, 'container-signing', { repo: 'payments-api' }), false);
    assert.equal(bypassMatches(bypass, 'container-signing', { repo: 'ledger-api', branch: 'main' }), false);
  });
  test('values are compared exactly (case, prefixes)', () => {
    assert.equal(scopeCovers({ repo: 'payments-api' }, { repo: 'Payments-api' }), false);
    assert.equal(scopeCovers({ repo: 'payments' }, { repo: 'payments-api' }), false);
  });
  test('an empty scope matches nothing', () => {
    assert.equal(scopeCovers({}, { repo: 'x' }), false);
  });
  test('inherited object properties are not attributes', () => {
    assert.equal(scopeCovers({ constructor: 'x' } as Record<string, string>, {}), false);
  });
  test('scopesEqual and formatScope', () => {
    assert.equal(scopesEqual({ a: '1', b: '2' }, { b: '2', a: '1' }), true);
    assert.equal(scopesEqual({ a: '1' }, { a: '1', b: '2' }), false);
    assert.equal(formatScope({ repo: 'x', branch: 'main' }), 'branch=main,repo=x');
  });
});
