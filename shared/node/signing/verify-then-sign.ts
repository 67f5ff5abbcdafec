import { createHash, randomBytes } from 'node:crypto';
import type { DecisionKind, DecisionStatement, SigstoreBundleJson } from '../../domain/decision';
import { CanonicalRequestSchema, type BypassRequest, type CanonicalRequest } from '../../domain/request';
import { AppError, parseOrThrow } from '../../errors';
import { newDecisionStatement } from '../../signing/decision-statement';
import { requestDigest } from '../../signing/request-digest';
import { signDecision } from './sign-decision';
import type { DecisionSigner } from './signer';

/** Random bytes in a decision nonce (DecisionStatementSchema wants 16, hex). */
const NONCE_BYTES = 16;

export function nodeSha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** Exactly the CanonicalRequest fields of a request as the store reports it (extra fields would change the digest). */
export function canonicalOf(request: BypassRequest): CanonicalRequest {
  const picked = Object.fromEntries(Object.keys(CanonicalRequestSchema.shape).map((k) => [k, (request as Record<string, unknown>)[k]]));
  return parseOrThrow(CanonicalRequestSchema, picked, 'request from the store');
}

/**
 * The digest of the request as the store reports it, computed here. Throws
 * AppError('verification_failed') when the store's own `digest` differs: a store that shows one
 * request and digests another must not get a signature.
 */
export function verifiedRequestDigest(request: BypassRequest): string {
  const digest = requestDigest(canonicalOf(request), nodeSha256);
  if (digest !== request.digest) {
    throw new AppError('verification_failed', `the store's digest for ${request.id} (${request.digest}) does not match the request it shows (${digest}): refusing to sign`);
  }
  return digest;
}

export interface DecisionToSign {
  decision: DecisionKind;
  approver: string;
  comment: string;
  /** approve only: the TTL granted. */
  ttl?: string;
  /**
   * The digest the approver was shown (the console passes what its confirm dialog displayed).
   * When given and the request's current digest differs, nothing is signed.
   */
  seenDigest?: string;
  /** Signer's clock (informational: the ledger time comes from the server). */
  now: Date;
}

export interface SignedDecision {
  statement: DecisionStatement;
  bundle: SigstoreBundleJson;
}

/**
 * Verify, then sign, a decision on `request` (as just fetched from the store): recompute the
 * request digest from its canonical fields, refuse when the store's digest or the digest the
 * approver saw differs, then build the statement (fresh random nonce) and sign it. Used by the
 * CLI's approve/deny/ask/revoke and the console alike.
 */
export async function verifyThenSignDecision(request: BypassRequest, input: DecisionToSign, signer: DecisionSigner): Promise<SignedDecision> {
  const digest = verifiedRequestDigest(request);
  if (input.seenDigest !== undefined && input.seenDigest !== digest) {
    throw new AppError(
      'conflict',
      `request ${request.id} changed after you opened it (you saw ${input.seenDigest}, the store now has ${digest}): nothing was signed; reopen it and check again`,
    );
  }
  const statement = newDecisionStatement({
    request: { id: request.id, digest },
    decision: input.decision,
    approver: input.approver,
    comment: input.comment,
    ...(input.decision === 'approve' ? { ttl: input.ttl ?? request.ttl } : {}),
    nonceHex: randomBytes(NONCE_BYTES).toString('hex'),
    now: input.now,
  });
  return { statement, bundle: await signDecision(statement, signer) };
}
