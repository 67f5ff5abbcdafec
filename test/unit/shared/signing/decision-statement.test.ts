import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { CanonicalRequest } from '../../../../shared/domain/request';
import { AppError } from '../../../../shared/errors';
import { newDecisionStatement } from '../../../../shared/signing/decision-statement';
import { requestDigest } from '../../../../shared/signing/request-digest';
import { canonicalRequestFixture, nodeSha256 } from '../../../support/decision-fixtures';

const sha256 = nodeSha256;
const request: CanonicalRequest = canonicalRequestFixture();

describe('requestDigest', () => {
  test('is sha256 over the canonical JSON, independent of key order', () => {
    const digest = requestDigest(request, sha256);
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const reordered = Object.fromEntries(Object.entries(request).reverse()) as CanonicalRequest;
    assert.equal(requestDigest(reordered, sha256), digest);
    const expected = createHash('sha256').update(
      '{"createdAt":"2026-11-26T10:00:00.000Z","extends":null,"gate":"sast","id":"req_0123456789abcdef","incidentRef":"INC-1190","reason":"SAST scanner is down and a sev1 fix must ship now","requester":"alice","scope":{"branch":"main","repo":"payments-api"},"severity":"sev1","team":"payments","ttl":"1h"}',
    );
    assert.equal(digest, `sha256:${expected.digest('hex')}`);
  });

  test('any field change changes the digest', () => {
    const digest = requestDigest(request, sha256);
    assert.notEqual(requestDigest({ ...request, scope: { repo: 'payments-api', branch: 'dev' } }, sha256), digest);
    assert.notEqual(requestDigest({ ...request, ttl: '4h' }, sha256), digest);
  });
});

describe('newDecisionStatement', () => {
  const base = {
    request: { id: request.id, digest: requestDigest(request, sha256) },
    approver: 'bob',
    nonceHex: '00112233445566778899aabbccddeeff',
    now: new Date('2026-11-26T10:05:00.000Z'),
  };

  test('builds a valid approval', () => {
    const s = newDecisionStatement({ ...base, decision: 'approve', comment: 'ok', ttl: '1h' });
    assert.deepEqual(s, {
      _type: 'https://breakglass.dev/decision/v1',
      requestId: request.id,
      requestDigest: base.request.digest,
      decision: 'approve',
      approver: 'bob',
      comment: 'ok',
      ttl: '1h',
      nonce: base.nonceHex,
      signedAt: '2026-11-26T10:05:00.000Z',
    });
  });

  test('a denial carries no ttl key at all', () => {
    const s = newDecisionStatement({ ...base, decision: 'deny', comment: 'not an incident' });
    assert.equal('ttl' in s, false);
  });

  test('invalid statements are rejected with field paths', () => {
    const cases: [Parameters<typeof newDecisionStatement>[0], string][] = [
      [{ ...base, decision: 'approve', comment: 'ok' }, 'ttl'],
      [{ ...base, decision: 'deny', comment: 'no', ttl: undefined }, 'comment'],
      [{ ...base, decision: 'deny', comment: 'long enough', ttl: '1h' }, 'ttl'],
      [{ ...base, nonceHex: 'abc', decision: 'approve', comment: '', ttl: '1h' }, 'nonce'],
      [{ ...base, request: { id: 'x', digest: base.request.digest }, decision: 'approve', comment: '', ttl: '1h' }, 'requestId'],
      [{ ...base, request: { id: request.id, digest: 'sha256:zz' }, decision: 'approve', comment: '', ttl: '1h' }, 'requestDigest'],
    ];
    for (const [input, path] of cases) {
      assert.throws(
        () => newDecisionStatement(input),
        (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && (e.fieldErrors ?? []).some((f) => f.path === path),
        `expected invalid ${path}`,
      );
    }
  });
});
