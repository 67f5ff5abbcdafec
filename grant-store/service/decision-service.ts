import { DecisionInputSchema, type DecisionRecord, type DecisionStatement, type SigstoreBundleJson } from '../../shared/domain/decision';
import { keyHardware, signingKeyFacts, type EnrolledKey } from '../../shared/domain/identity';
import type { BypassRequest } from '../../shared/domain/request';
import { AppError, parseOrThrow } from '../../shared/errors';
import { assertMayApprove, assertMayDecide, assertMayRevoke } from '../../shared/policy/separation-of-duties';
import { nextState } from '../../shared/policy/state-machine';
import { resolveGate } from '../../shared/policy/tier-resolution';
import { approvedTtlErrors, effectiveTtl } from '../../shared/policy/ttl-limits';
import type { StoreTx } from '../storage/store';
import { requireRole } from './access';
import { activate } from './activation';
import { auditEntry } from './audit-entry';
import { timelineSoFar, type TimelineSoFar } from './timeline';
import { closeBypass } from './closure';
import { rekorDsseBody } from './rekor-dsse-body';
import { requestAudit } from './request-audit';
import { loadVisibleRequest } from './request-service';
import type { Caller, ServiceDeps } from './service-deps';

/** The key id the bundle names (public-key hint, else the DSSE signature's keyid). */
function keyHint(bundle: SigstoreBundleJson): string | undefined {
  const material = bundle.verificationMaterial as { publicKey?: { hint?: unknown } };
  const hint = material.publicKey?.hint;
  if (typeof hint === 'string' && hint.length > 0) return hint;
  return bundle.dsseEnvelope.signatures[0]?.keyid;
}

/**
 * Accept a signed decision (approve / deny / request_info / revoke) on a request. The bundle
 * is verified against the approver's enrolled key; then, in one transaction: the request id
 * and digest it signs, the signer is the caller, the key is theirs and unrevoked, separation
 * of duties, TTL limits, the state machine, and replay refusal (signature digest and nonce are
 * UNIQUE). The decision, its ledger entry (with the bundle) and any activation or closure
 * commit together.
 */
export async function submitDecision(deps: ServiceDeps, caller: Caller, requestId: string, body: unknown): Promise<{ request: BypassRequest; decision: DecisionRecord }> {
  requireRole(caller, 'approver');
  deps.ledgerGuard?.assertGranting('decision');
  const { bundle } = parseOrThrow(DecisionInputSchema, body, 'decision');
  // 404 before any crypto, and without revealing requests the caller may not see.
  await loadVisibleRequest(deps, caller, requestId);

  const hint = keyHint(bundle);
  const key: EnrolledKey | undefined = hint ? await deps.store.getKey(hint) : undefined;
  const verified = await deps.verifyDecision(bundle, (keyId) => (key && key.keyId === keyId ? { publicKeyPem: key.publicKeyPem } : undefined));
  const statement = verified.statement;
  if (!key || key.keyId !== verified.keyId) throw new AppError('verification_failed', `key ${verified.keyId} is not enrolled`);
  if (key.principal !== caller.principal) throw new AppError('forbidden', `key ${key.keyId} is enrolled for ${key.principal}, not for ${caller.principal}`);
  if (key.revokedAt) throw new AppError('forbidden', `key ${key.keyId} was revoked at ${key.revokedAt}`);
  if (statement.approver !== caller.principal) throw new AppError('forbidden', `the statement is signed as approver ${statement.approver}, but the caller is ${caller.principal}`);
  if (statement.requestId !== requestId) throw new AppError('verification_failed', `the bundle decides on ${statement.requestId}, not on ${requestId}`);

  // A revocation opens the review: its timeline so far is read before the transaction (see timelineSoFar).
  const soFar = statement.decision === 'revoke' ? await timelineSoFar(deps.store, requestId) : undefined;
  return deps.store.transaction(async (tx) => {
    const request = await loadVisibleRequest(deps, caller, requestId, tx);
    // The key was read before verifying (outside the transaction): a revocation committed since
    // then must still win.
    const current = await tx.getKey(key.keyId);
    if (!current || current.revokedAt) throw new AppError('forbidden', `key ${key.keyId} was revoked`);
    if (statement.requestDigest !== request.digest) {
      throw new AppError('verification_failed', `the bundle signs request digest ${statement.requestDigest}, but ${requestId} has digest ${request.digest}`);
    }
    if (await tx.decisionReplayed(verified.signatureDigest, statement.nonce)) {
      throw new AppError('conflict', 'this decision (signature or nonce) was already submitted: replays are refused');
    }
    const now = deps.clock();
    const at = now.toISOString();
    const decisionEntry = auditEntry(at, 'decision', caller, {
      ...requestAudit(request, { actorRole: 'approver' }),
      approver: caller.principal,
      data: {
        decision: statement.decision,
        keyId: key.keyId,
        hardwareBacked: key.hardwareBacked,
        hardware: keyHardware(key),
        // The signing key's verified attestation ({kind, root, serial, policy}) or null: the
        // ledger says which kind of key signed each decision without a join on the keys table.
        attestation: key.attestation ?? null,
        ttl: statement.ttl ?? null,
        comment: statement.comment,
        nonce: statement.nonce,
        requestDigest: statement.requestDigest,
        signatureDigest: verified.signatureDigest,
        bundle,
      },
    });
    const [recorded] = await tx.appendLedger([{ ...decisionEntry, ...rekorDsseBody(bundle, key.publicKeyPem) }]);
    const record: DecisionRecord = {
      requestId,
      decision: statement.decision,
      approver: caller.principal,
      keyId: key.keyId,
      comment: statement.comment,
      ttl: statement.ttl ?? null,
      at,
      seq: recorded!.seq,
    };
    const updated = await applyDecision(deps, tx, caller, request, statement, key, now, soFar);
    await tx.insertDecision({ ...record, signatureDigest: verified.signatureDigest, nonce: statement.nonce, bundle });
    return { request: updated, decision: { ...record, ...signingKeyFacts(key) } };
  });
}

async function applyDecision(deps: ServiceDeps, tx: StoreTx, caller: Caller, request: BypassRequest, statement: DecisionStatement, key: EnrolledKey, now: Date, soFar: TimelineSoFar | undefined): Promise<BypassRequest> {
  const policy = deps.policies.policy;
  const at = now.toISOString();
  switch (statement.decision) {
    case 'approve': {
      nextState(request.state, 'approve');
      assertMayApprove(policy, request, { approver: caller.principal, hardwareBacked: key.hardwareBacked, attested: keyHardware(key) === 'attested', priorApprovers: request.approvals.map((a) => a.approver) });
      const granted = statement.ttl!;
      const ttlErrors = approvedTtlErrors(request.ttl, granted, 'bundle.statement.ttl');
      if (ttlErrors.length > 0) throw new AppError('invalid_input', ttlErrors[0]!.message, { fieldErrors: ttlErrors });
      let updated: BypassRequest = {
        ...request,
        approvals: [...request.approvals, { approver: caller.principal, keyId: key.keyId, hardwareBacked: key.hardwareBacked, ...(key.attestation ? { attestation: { kind: key.attestation.kind, serial: key.attestation.serial } } : {}), ttl: granted, comment: statement.comment, at }],
        updatedAt: at,
      };
      const required = resolveGate(policy, request.gate)?.tier.approvals ?? request.approvalsRequired;
      if (updated.approvals.length >= Math.max(required, request.approvalsRequired)) {
        updated = activate(updated, effectiveTtl(updated.approvals.map((a) => a.ttl)), now);
        await tx.updateRequest(updated);
        await tx.appendLedger([
          auditEntry(at, 'bypass_activated', caller, requestAudit(updated, {
            actorRole: 'approver',
            data: { bypassId: updated.bypassId, ttl: updated.approvedTtl, activatedAt: updated.activatedAt, approvals: updated.approvals.length },
          })),
        ]);
        return updated;
      }
      await tx.updateRequest(updated);
      return updated;
    }
    case 'deny': {
      const state = nextState(request.state, 'deny');
      assertMayDecide(policy, request, caller.principal);
      const updated: BypassRequest = { ...request, state, closedAt: at, closedBy: caller.principal, closeComment: statement.comment, updatedAt: at };
      await tx.updateRequest(updated);
      return updated;
    }
    case 'request_info': {
      const state = nextState(request.state, 'request_info');
      assertMayDecide(policy, request, caller.principal);
      const updated: BypassRequest = {
        ...request,
        state,
        messages: [...request.messages, { from: caller.principal, kind: 'question', text: statement.comment, at }],
        updatedAt: at,
      };
      await tx.updateRequest(updated);
      await tx.appendLedger([auditEntry(at, 'info_requested', caller, requestAudit(updated, { actorRole: 'approver', approver: caller.principal, data: { question: statement.comment } }))]);
      return updated;
    }
    case 'revoke': {
      nextState(request.state, 'revoke');
      assertMayRevoke(deps.policies.policy, request, caller.principal);
      return (await closeBypass(tx, request, 'revoke', caller, now, statement.comment, deps.policies.policy, soFar)).request;
    }
  }
}
