import { DECISION_STATEMENT_TYPE, DecisionStatementSchema, type DecisionKind, type DecisionStatement } from '../domain/decision';
import { parseOrThrow } from '../errors';

export interface NewDecisionStatementInput {
  /** The request decided on: its id and its `requestDigest` (see request-digest.ts). */
  request: { id: string; digest: string };
  decision: DecisionKind;
  approver: string;
  comment: string;
  /** approve only: the TTL granted (at most the one asked; the store enforces it). */
  ttl?: string;
  /** 16 random bytes in hex from a CSPRNG; the caller must never reuse one. */
  nonceHex: string;
  /** Signer's clock (informational: the ledger time comes from the server). */
  now: Date;
}

/**
 * Build and validate the statement an approver signs. Throws AppError('invalid_input') with
 * field paths when it would not pass DecisionStatementSchema (e.g. an approval without a TTL,
 * a denial without a reason).
 */
export function newDecisionStatement(input: NewDecisionStatementInput): DecisionStatement {
  const candidate = {
    _type: DECISION_STATEMENT_TYPE,
    requestId: input.request.id,
    requestDigest: input.request.digest,
    decision: input.decision,
    approver: input.approver,
    // Signed as is, so prepared the way the store reads text: trimmed and NFC.
    comment: input.comment.trim().normalize('NFC'),
    ...(input.ttl !== undefined ? { ttl: input.ttl } : {}),
    nonce: input.nonceHex,
    signedAt: input.now.toISOString(),
  };
  return parseOrThrow(DecisionStatementSchema, candidate, 'decision statement');
}
