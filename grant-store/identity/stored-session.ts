import type { Role } from '../../shared/domain/common';
import type { SessionInfo } from '../../shared/domain/session';

/** The bearer prefix of store sessions (admin tokens are bgt_...): greppable when leaked, and how the auth hook tells them apart. */
export const SESSION_TOKEN_PREFIX = 'bgs_';

/**
 * A store session as stored: issued after a person signed in at the organisation's IdP, holding
 * what the IdP said about them at that moment. Only the SHA-256 of the bearer is kept, and the
 * SHA-256 of the ID token it was exchanged for (UNIQUE: one ID token buys one session).
 */
export interface StoredSession {
  id: string;
  tokenHash: string;
  idTokenHash: string;
  principal: string;
  roles: Role[];
  team: string | null;
  approverGroups: string[];
  issuer: string;
  /** The IdP's `sub` for the person. */
  subject: string;
  createdAt: string;
  expiresAt: string;
  endedAt: string | null;
}

export function sessionInfo(s: StoredSession): SessionInfo {
  return { id: s.id, principal: s.principal, roles: s.roles, team: s.team, approverGroups: s.approverGroups, issuer: s.issuer, createdAt: s.createdAt, expiresAt: s.expiresAt };
}
