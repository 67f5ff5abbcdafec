import type { DecisionKind } from '../../../shared/domain/decision';
import type { BypassRequest } from '../../../shared/domain/request';
import { AppError } from '../../../shared/errors';
import type { ChannelOutput } from '../../../shared/ipc/contract';
import { formatScope } from '../../../shared/policy';
import { verifyThenSignDecision } from '../../../shared/node/signing/verify-then-sign';
import type { ConsoleClock } from '../clock';
import type { ConnectionTracker } from '../session/connection-tracker';
import type { SessionService } from '../session/session-service';
import type { SigningKeys } from '../signers/signing-keys';
import { canApprove, canDecide, grantedTtlErrors } from './decision-rules';

type DecisionResult = ChannelOutput<'console:main:approve'>;

export interface DecisionInput {
  id: string;
  /** The request digest the approver was shown; nothing is signed when the store's current one differs. */
  seenDigest: string;
  decision: DecisionKind;
  comment: string;
  /** approve only. */
  ttl?: string;
}

export interface DecisionServiceDeps {
  session: SessionService;
  connection: ConnectionTracker;
  keys: SigningKeys;
  clock: ConsoleClock;
  /** Something changed in the store because of us: refresh the inbox soon. */
  decided(): void;
}

/** What a PIN prompt says is being signed, e.g. "approve req_… (deploy-prod, branch=main,repo=payments-api)". */
export function signingPurpose(decision: DecisionKind, request: Pick<BypassRequest, 'id' | 'gate' | 'scope'>): string {
  return `${decision.replace('_', ' ')} ${request.id} (${request.gate}, ${formatScope(request.scope)})`;
}

/** Eligible approvers who have not approved yet, while the request still waits for approvals. */
export function waitingOn(request: BypassRequest, approvers: readonly string[]): string[] {
  if (request.state !== 'pending') return [];
  const approved = new Set(request.approvals.map((a) => a.approver));
  return approvers.filter((a) => a !== request.requester && !approved.has(a));
}

/**
 * Signed decisions: fetch the request as the store has it now, refuse when its digest is not the
 * one the approver was shown (what you sign is what you saw), check the console's mirror of the
 * rules (so a refusal says why before anything is signed), then verify-then-sign through the one
 * shared path (shared/node/signing, which checks the seen digest again against the digest it
 * recomputes) and send the bundle. The store enforces every rule again.
 */
export class DecisionService {
  constructor(private readonly deps: DecisionServiceDeps) {}

  async decide(input: DecisionInput): Promise<DecisionResult> {
    const { session, connection } = this.deps;
    const { client, profile } = session.current();
    const detail = await connection.track(client.call('getRequest', { params: { id: input.id } }));
    if (detail.request.digest !== input.seenDigest) {
      throw new AppError(
        'conflict',
        `request ${input.id} changed after you opened it: you were shown ${input.seenDigest}, the store now has ${detail.request.digest}. Nothing was signed; reopen the request and check it again`,
      );
    }
    const policy = await session.policyOrUndefined();
    if (!session.enrolledKey(profile)) await session.refreshWhoamiOrKeep('decision');
    const view = { profile, whoami: session.me, enrolledKey: session.enrolledKey(profile) };
    const verdict = input.decision === 'approve' ? canApprove(detail.request, detail.approvers, policy, view) : canDecide(detail.request, detail.approvers, policy, view);
    if (!verdict.allowed) throw new AppError('forbidden', verdict.reason ?? 'not allowed');
    if (input.decision === 'approve') {
      const ttlErrors = grantedTtlErrors(detail.request, input.ttl);
      if (ttlErrors.length > 0) throw new AppError('invalid_input', ttlErrors.map((e) => e.message).join('; '), { fieldErrors: ttlErrors });
    }
    const signer = await this.deps.keys.signerFor(profile, signingPurpose(input.decision, detail.request));
    const { bundle } = await verifyThenSignDecision(
      detail.request,
      { decision: input.decision, approver: profile.principal, comment: input.comment, ttl: input.ttl, seenDigest: input.seenDigest, now: this.deps.clock.now() },
      signer,
    );
    const result = await connection.track(client.call('submitDecision', { params: { id: input.id }, body: { bundle } }));
    this.deps.decided();
    return { request: result.request, decision: result.decision, waitingOn: waitingOn(result.request, detail.approvers) };
  }
}
