import {
  EmergencyAdminActionSchema,
  EmergencyOpenInputSchema,
  SealInputSchema,
  type EmergencyCredential,
  type EmergencyOpenResult,
  type SealResult,
} from '../../shared/domain/emergency';
import type { BypassRequest, CanonicalRequest } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';
import { AppError, parseOrThrow, type FieldError } from '../../shared/errors';
import { emergencyAudience, emergencyTtl, sealErrors } from '../../shared/policy/emergency-rules';
import { resolveGate, teamOf } from '../../shared/policy/tier-resolution';
import { requestDigest } from '../../shared/signing/request-digest';
import { actingRole, requireRole } from '../service/access';
import { activate } from '../service/activation';
import { auditEntry } from '../service/audit-entry';
import { newId, sha256 } from '../service/ids';
import { requestAudit } from '../service/request-audit';
import type { Caller, ServiceDeps } from '../service/service-deps';
import { timelineOf } from '../service/timeline';
import { timelineEntries } from '../../shared/domain/review-timeline';
import { generateCredential, newCredentialId, parseCredential } from './credential-code';

/**
 * Sealed emergency credentials: the break-glass-without-an-approver path, for the disaster
 * where nobody can approve. An admin seals a credential for one gate and scope and names its
 * holders; the secret is shown once and kept only as its digest. A holder who uses it opens the
 * bypass at once for the tier's shortest TTL; the same transaction burns the credential, opens
 * a review needing two sign-offs from outside the user's team, and writes the ledger entries
 * the alert dispatcher turns into a critical alert to every webhook (and the notifications feed
 * into a page to everyone on every notify list and every approver). Every refused use is an
 * alarm too.
 */

function invalid(errors: FieldError[], what: string): AppError {
  return new AppError('invalid_input', `invalid ${what}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { fieldErrors: errors });
}

function sealEntry(at: string, caller: Caller, c: EmergencyCredential, ttl: string) {
  return auditEntry(at, 'emergency_sealed', caller, {
    target: c.id,
    actorRole: 'admin',
    gate: c.gate,
    reason: c.label,
    data: { credentialId: c.id, credentialDigest: c.credentialDigest, scope: c.scope, holders: c.holders, label: c.label, replaces: c.replaces, ttl },
  });
}

/** Seal a new credential (admin). The answer carries the secret: the only time it exists outside the holder's safe. */
export async function sealCredential(deps: ServiceDeps, caller: Caller, body: unknown): Promise<SealResult> {
  requireRole(caller, 'admin');
  const input = parseOrThrow(SealInputSchema, body, 'seal');
  const policy = deps.policies.policy;
  const errors = sealErrors(policy, input);
  if (errors.length > 0) throw invalid(errors, 'seal');
  const ttl = emergencyTtl(policy, input.gate)!;
  const { text, digest } = generateCredential();
  const at = deps.clock().toISOString();
  const credential: EmergencyCredential = {
    id: newCredentialId(),
    gate: input.gate,
    scope: input.scope,
    holders: input.holders,
    label: input.label ?? null,
    state: 'sealed',
    credentialDigest: digest,
    sealedBy: caller.principal,
    sealedAt: at,
    replaces: null,
    replacedBy: null,
    usedAt: null,
    usedBy: null,
    requestId: null,
    retiredAt: null,
    retiredBy: null,
  };
  await deps.store.transaction(async (tx) => {
    await tx.insertEmergencyCredential(credential);
    await tx.appendLedger([sealEntry(at, caller, credential, ttl)]);
  });
  return { credential, secret: text, ttl };
}

/**
 * Re-seal (admin): a fresh secret for the same gate, scope and holders, after a use (to put a
 * new sheet in the safe) or when a sheet may have been seen. A still-sealed old credential is
 * retired in the same transaction; the policy in force is checked again.
 */
export async function resealCredential(deps: ServiceDeps, caller: Caller, id: string, body: unknown): Promise<SealResult> {
  requireRole(caller, 'admin');
  const { reason } = parseOrThrow(EmergencyAdminActionSchema, body, 're-seal');
  const policy = deps.policies.policy;
  const { text, digest } = generateCredential();
  const at = deps.clock().toISOString();
  return deps.store.transaction(async (tx) => {
    const old = await tx.getEmergencyCredential(id);
    if (!old) throw new AppError('not_found', `emergency credential ${id} not found`);
    if (old.replacedBy) throw new AppError('illegal_transition', `emergency credential ${id} was already re-sealed as ${old.replacedBy}: re-seal that one`, { currentState: old.state });
    const errors = sealErrors(policy, { gate: old.gate, scope: old.scope, holders: old.holders });
    if (errors.length > 0) throw invalid(errors, 're-seal (the policy in force no longer allows this credential)');
    const ttl = emergencyTtl(policy, old.gate)!;
    const fresh: EmergencyCredential = { ...old, id: newCredentialId(), state: 'sealed', credentialDigest: digest, sealedBy: caller.principal, sealedAt: at, replaces: old.id, replacedBy: null, usedAt: null, usedBy: null, requestId: null, retiredAt: null, retiredBy: null };
    const retired: EmergencyCredential = old.state === 'sealed' ? { ...old, state: 'retired', retiredAt: at, retiredBy: caller.principal, replacedBy: fresh.id } : { ...old, replacedBy: fresh.id };
    if (!(await tx.updateEmergencyCredential(retired, old.state))) throw new AppError('conflict', `emergency credential ${id} changed meanwhile: try again`);
    await tx.insertEmergencyCredential(fresh);
    const entries = [];
    if (old.state === 'sealed') entries.push(auditEntry(at, 'emergency_retired', caller, { target: old.id, actorRole: 'admin', gate: old.gate, reason, data: { credentialId: old.id, reason, replacedBy: fresh.id } }));
    entries.push(sealEntry(at, caller, fresh, ttl));
    await tx.appendLedger(entries);
    return { credential: fresh, secret: text, ttl };
  });
}

/** Retire a sealed credential without a replacement (admin). */
export async function retireCredential(deps: ServiceDeps, caller: Caller, id: string, body: unknown): Promise<EmergencyCredential> {
  requireRole(caller, 'admin');
  const { reason } = parseOrThrow(EmergencyAdminActionSchema, body, 'retire');
  const at = deps.clock().toISOString();
  return deps.store.transaction(async (tx) => {
    const old = await tx.getEmergencyCredential(id);
    if (!old) throw new AppError('not_found', `emergency credential ${id} not found`);
    if (old.state !== 'sealed') throw new AppError('illegal_transition', `emergency credential ${id} is ${old.state}, not sealed`, { currentState: old.state });
    const retired: EmergencyCredential = { ...old, state: 'retired', retiredAt: at, retiredBy: caller.principal };
    if (!(await tx.updateEmergencyCredential(retired, 'sealed'))) throw new AppError('conflict', `emergency credential ${id} changed meanwhile: try again`);
    await tx.appendLedger([auditEntry(at, 'emergency_retired', caller, { target: id, actorRole: 'admin', gate: old.gate, reason, data: { credentialId: id, reason, replacedBy: null } })]);
    return retired;
  });
}

export async function listCredentials(deps: ServiceDeps, caller: Caller): Promise<EmergencyCredential[]> {
  requireRole(caller, 'admin', 'auditor');
  return deps.store.listEmergencyCredentials();
}

/** Why a presented credential opens nothing (each one is recorded and alarms). */
type Refusal = { why: 'unknown' | 'burned' | 'retired' | 'not_holder' | 'policy'; message: string; credential?: EmergencyCredential };

class RefusedUse extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

/**
 * Use a sealed credential (a holder, with their own token): the bypass opens at once. Refused
 * (403, and an emergency_refused entry that alarms): an unknown secret, a burned (used) or
 * retired credential, a caller who is not a holder, a gate the policy now keeps closed. A typo
 * caught by the checksum is a 400 with nothing written.
 */
export async function openEmergency(deps: ServiceDeps, caller: Caller, body: unknown): Promise<EmergencyOpenResult> {
  const input = parseOrThrow(EmergencyOpenInputSchema, body, 'emergency use');
  const { digest } = parseCredential(input.credential, 'credential');
  const policy = deps.policies.policy;
  const now = deps.clock();
  const at = now.toISOString();
  const refusalEntry = (refusal: Refusal) => {
    const c = refusal.credential;
    return auditEntry(at, 'emergency_refused', caller, {
      target: c?.id ?? 'emergency:unknown',
      actorRole: actingRole(caller, 'requester', 'approver', 'admin'),
      gate: c?.gate ?? null,
      reason: input.reason,
      incidentRef: input.incidentRef,
      data: { why: refusal.why, message: refusal.message, credentialId: c?.id ?? null, presentedDigest: digest, state: c?.state ?? null, holders: c?.holders ?? null },
    });
  };
  const refuse = (refusal: Refusal): never => {
    throw new RefusedUse(refusal);
  };
  try {
    return await deps.store.transaction(async (tx) => {
      const credential = await tx.getEmergencyCredentialByDigest(digest);
      if (!credential) return refuse({ why: 'unknown', message: 'refused: no emergency credential has this secret (the attempt is recorded and the security team alerted)' });
      if (credential.state === 'used') return refuse({ why: 'burned', credential, message: `refused: emergency credential ${credential.id} was already used at ${credential.usedAt} by ${credential.usedBy} (request ${credential.requestId}); it is burned. This second use is recorded and alarms.` });
      if (credential.state === 'retired') return refuse({ why: 'retired', credential, message: `refused: emergency credential ${credential.id} was retired at ${credential.retiredAt} by ${credential.retiredBy}${credential.replacedBy ? ` (replaced by ${credential.replacedBy})` : ''}. The attempt is recorded and alarms.` });
      if (!credential.holders.includes(caller.principal)) return refuse({ why: 'not_holder', credential, message: `refused: ${caller.principal} is not a holder of emergency credential ${credential.id} (holders: ${credential.holders.join(', ')}). The attempt is recorded and alarms.` });
      const policyErrors = sealErrors(policy, { gate: credential.gate, scope: credential.scope, holders: [caller.principal] });
      const resolved = resolveGate(policy, credential.gate);
      const team = teamOf(policy, caller.principal);
      const ttl = emergencyTtl(policy, credential.gate);
      if (policyErrors.length > 0 || !resolved || !team || !ttl) return refuse({ why: 'policy', credential, message: `refused: the policy in force no longer allows emergency credential ${credential.id}: ${policyErrors.map((e) => e.message).join('; ')}` });

      const canonical: CanonicalRequest = {
        id: newId('req'),
        requester: caller.principal,
        team,
        gate: credential.gate,
        scope: credential.scope,
        reason: input.reason,
        incidentRef: input.incidentRef,
        severity: input.severity,
        ttl,
        extends: null,
        createdAt: at,
      };
      const pending: BypassRequest = {
        ...canonical,
        digest: requestDigest(canonical, sha256),
        state: 'pending',
        tier: resolved.tierName,
        gateKind: resolved.gate.kind,
        approvalsRequired: 0,
        approvals: [],
        messages: [],
        standingScope: null,
        bypassId: null,
        approvedTtl: null,
        activatedAt: null,
        expiresAt: null,
        closedAt: null,
        lapsesAt: null,
        updatedAt: at,
        closeComment: null,
        closedBy: null,
        emergencyCredential: credential.id,
        preApproval: null,
      };
      const request = activate(pending, ttl, now);
      const burned: EmergencyCredential = { ...credential, state: 'used', usedAt: at, usedBy: caller.principal, requestId: request.id };
      // The guard makes a second use racing this one (another instance) lose even if it read `sealed` too.
      if (!(await tx.updateEmergencyCredential(burned, 'sealed'))) return refuse({ why: 'burned', credential, message: `refused: emergency credential ${credential.id} was used by someone else a moment ago; it is burned` });
      await tx.insertRequest(request);
      const paged = emergencyAudience(policy);
      const role = actingRole(caller, 'requester', 'approver', 'admin');
      const [, used] = await tx.appendLedger([
        auditEntry(at, 'request_created', caller, requestAudit(request, { actorRole: role, approver: null, expiresAt: null, data: { scope: request.scope, severity: request.severity, ttl, tier: request.tier, gateKind: request.gateKind, digest: request.digest, extends: null, standingScope: null, emergencyCredential: credential.id, team } })),
        auditEntry(at, 'emergency_used', caller, requestAudit(request, { actorRole: role, approver: null, data: { credentialId: credential.id, credentialDigest: credential.credentialDigest, team, holders: credential.holders, sealedBy: credential.sealedBy, sealedAt: credential.sealedAt, ttl, reviewSignoffs: policy.emergency.reviewSignoffs, paged, webhooks: policy.webhooks.map((w) => w.id) } })),
      ]);
      await tx.appendLedger([
        auditEntry(at, 'bypass_activated', caller, requestAudit(request, { actorRole: role, approver: null, data: { bypassId: request.bypassId, ttl, activatedAt: request.activatedAt, emergencyCredential: credential.id, emergencyUsedSeq: used!.seq } })),
      ]);
      // The mandatory review opens now, while the bypass runs; its timeline is completed when the bypass ends.
      const review: Review = {
        id: newId('rev'),
        requestId: request.id,
        gate: request.gate,
        requester: request.requester,
        team,
        state: 'review_open',
        openedAt: at,
        timeline: await timelineOf(tx, request.id),
        finding: null,
        note: null,
        completedBy: null,
        completedAt: null,
        signoffsRequired: policy.emergency.reviewSignoffs,
        outsideTeamOnly: true,
        signoffs: [],
      };
      await tx.insertReview(review);
      await tx.appendLedger([
        auditEntry(at, 'review_opened', { principal: 'system', roles: [], sourceAddress: null }, requestAudit(request, { actorRole: 'system', approver: null, data: { reviewId: review.id, timelineLength: timelineEntries(review.timeline), signoffsRequired: review.signoffsRequired, outsideTeamOnly: true } })),
      ]);
      return { request, credentialId: credential.id, reviewId: review.id, paged, webhooks: policy.webhooks.length };
    });
  } catch (error) {
    // Nothing of the use was written; the refusal itself is recorded (and alarms) in its own transaction.
    if (error instanceof RefusedUse) {
      await deps.store.transaction((tx) => tx.appendLedger([refusalEntry(error.refusal)]));
      throw new AppError('forbidden', error.refusal.message);
    }
    throw error;
  }
}
