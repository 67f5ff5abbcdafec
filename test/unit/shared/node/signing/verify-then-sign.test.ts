import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BypassRequest } from '../../../../../shared/domain/request';
import { AppError } from '../../../../../shared/errors';
import { requestDigest } from '../../../../../shared/signing/request-digest';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../../../shared/node/signing/software-signer';
import { verifyDecisionBundle } from '../../../../../shared/node/signing/verify-decision';
import { verifyThenSignDecision } from '../../../../../shared/node/signing/verify-then-sign';
import { canonicalRequestFixture, nodeSha256 } from '../../../../support/decision-fixtures';

const bob = fileKeySigner(generateSoftwareKeyPair().privateKeyPem);
const keys = (keyId: string) => (keyId === bob.keyId ? { publicKeyPem: bob.publicKeyPem } : undefined);
const now = new Date('2026-11-26T10:05:00.000Z');

function reported(overrides: Partial<BypassRequest> = {}): BypassRequest {
  const canonical = canonicalRequestFixture();
  return {
    ...canonical,
    digest: requestDigest(canonical, nodeSha256),
    state: 'pending',
    tier: 'high',
    gateKind: 'slow',
    approvalsRequired: 1,
    approvals: [],
    messages: [],
    standingScope: null,
    bypassId: null,
    approvedTtl: null,
    activatedAt: null,
    expiresAt: null,
    closedAt: null,
    lapsesAt: null,
    updatedAt: canonical.createdAt,
    closeComment: null,
    closedBy: null,
    ...overrides,
  };
}

function refusedWith(code: string, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('verifyThenSignDecision (the CLI and the console sign through it)', () => {
  test('signs the digest it computed itself, binding id, approver, ttl and a fresh nonce', async () => {
    const request = reported();
    const a = await verifyThenSignDecision(request, { decision: 'approve', approver: 'bob', comment: 'ok', ttl: '15m', seenDigest: request.digest, now }, bob);
    const b = await verifyThenSignDecision(request, { decision: 'approve', approver: 'bob', comment: 'ok', now }, bob);
    const verified = await verifyDecisionBundle(a.bundle, keys, { requestId: request.id, requestDigest: request.digest });
    assert.equal(verified.statement.ttl, '15m');
    assert.equal(b.statement.ttl, request.ttl, 'an approval without a TTL grants the one asked');
    assert.notEqual(a.statement.nonce, b.statement.nonce);
    const deny = await verifyThenSignDecision(request, { decision: 'deny', approver: 'bob', comment: 'not justified', ttl: '15m', now }, bob);
    assert.equal(deny.statement.ttl, undefined, 'only approvals carry a TTL');
  });

  test('a store whose digest does not match the request it shows gets no signature', async () => {
    const lying = reported({ reason: 'a different reason than the one digested' });
    await assert.rejects(verifyThenSignDecision(lying, { decision: 'approve', approver: 'bob', comment: '', now }, bob), refusedWith('verification_failed', /does not match the request it shows.*refusing to sign/));
  });

  test('a request that changed after the approver saw it is refused, naming both digests', async () => {
    const seen = reported();
    const changedCanonical = { ...canonicalRequestFixture(), scope: { repo: 'payments-api', branch: 'release' } };
    const now2 = reported({ scope: changedCanonical.scope, digest: requestDigest(changedCanonical, nodeSha256) });
    await assert.rejects(
      verifyThenSignDecision(now2, { decision: 'approve', approver: 'bob', comment: '', seenDigest: seen.digest, now }, bob),
      refusedWith('conflict', new RegExp(`changed after you opened it \\(you saw ${seen.digest}, the store now has ${now2.digest}\\): nothing was signed`)),
    );
  });
});
