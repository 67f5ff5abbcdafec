// Shared test fixtures for signed decisions: a canonical request, its digest and statements.
import { createHash, randomBytes } from 'node:crypto';
import type { DecisionKind, DecisionStatement } from '../../shared/domain/decision';
import type { CanonicalRequest } from '../../shared/domain/request';
import { newDecisionStatement } from '../../shared/signing/decision-statement';
import { requestDigest } from '../../shared/signing/request-digest';

export const nodeSha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

export function canonicalRequestFixture(overrides: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    id: 'req_0123456789abcdef',
    requester: 'alice',
    team: 'payments',
    gate: 'sast',
    scope: { repo: 'payments-api', branch: 'main' },
    reason: 'SAST scanner is down and a sev1 fix must ship now',
    incidentRef: 'INC-1190',
    severity: 'sev1',
    ttl: '1h',
    extends: null,
    createdAt: '2026-11-26T10:00:00.000Z',
    ...overrides,
  };
}

export function statementFixture(
  opts: { request?: CanonicalRequest; decision?: DecisionKind; approver?: string; comment?: string; ttl?: string } = {},
): DecisionStatement {
  const request = opts.request ?? canonicalRequestFixture();
  const decision = opts.decision ?? 'approve';
  return newDecisionStatement({
    request: { id: request.id, digest: requestDigest(request, nodeSha256) },
    decision,
    approver: opts.approver ?? 'bob',
    comment: opts.comment ?? (decision === 'approve' ? 'go ahead' : 'not justified, use the normal path'),
    ttl: decision === 'approve' ? (opts.ttl ?? '1h') : undefined,
    nonceHex: randomBytes(16).toString('hex'),
    now: new Date(),
  });
}
