import { randomBytes } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { PrincipalNameSchema } from '../../shared/domain/common';
import type { Policy } from '../../shared/domain/policy';
import type { OidcSignIn } from '../../shared/domain/policy-identity';
import { SessionCreateInputSchema, type SessionCreated, type SessionInfo } from '../../shared/domain/session';
import { ttlToMs } from '../../shared/domain/ttl';
import { AppError, parseOrThrow } from '../../shared/errors';
import { groupsFromClaim, membershipFromGroups } from '../../shared/identity/membership';
import { claimText } from '../../shared/identity/workload-subject';
import type { NewLedgerEntry, Store } from '../storage/store';
import { claimedIssuer, verifyIdToken } from './id-token-verifier';
import type { IssuerKeys } from './issuer-keys';
import { SESSION_TOKEN_PREFIX, sessionInfo, type StoredSession } from './stored-session';

export { SESSION_TOKEN_PREFIX };
import { sha256Hex as hashSecret } from '../service/ids';

const SESSION_SECRET_BYTES = 32;
const SESSION_ID_BYTES = 13;
/** Principals the store writes under itself: nobody signs in as them. */
const RESERVED_PRINCIPALS = ['system'];

export interface SessionServiceDeps {
  store: Store;
  policy(): Policy;
  clock(): Date;
  keys: IssuerKeys;
}

/** The sign-in section, or why this store takes no sign-ins. */
export function oidcSection(policy: Policy): OidcSignIn {
  const oidc = policy.identity?.oidc;
  if (!oidc) throw new AppError('unavailable', 'this grant store has no sign-in configured (policy identity.oidc): use a token from an admin');
  return oidc;
}

/**
 * Exchange an ID token from the organisation's IdP for a store session (POST /v1/sessions): the
 * token is verified against the IdP's keys for the policy's client id, the principal and the
 * groups are read from its claims and mapped by the policy, and a session of `sessionTtl` is
 * issued and recorded in the ledger. One ID token buys one session.
 */
export async function startSession(deps: SessionServiceDeps, body: unknown, sourceAddress: string | null): Promise<SessionCreated> {
  const input = parseOrThrow(SessionCreateInputSchema, body, 'session');
  const policy = deps.policy();
  const oidc = oidcSection(policy);
  const iss = claimedIssuer(input.idToken);
  if (iss !== oidc.issuer) throw new AppError('unauthenticated', `ID tokens from ${iss} are not accepted here (the policy's identity provider is ${oidc.issuer})`);
  const now = deps.clock();
  const claims = await verifyIdToken(deps.keys, input.idToken, { issuer: oidc.issuer, audience: oidc.clientId, now, maxAgeSeconds: ttlToMs(oidc.maxIdTokenAge) / 1000 });
  const principal = principalFrom(oidc, claims);
  const groups = groupsFromClaim(claims[oidc.groupsClaim]);
  if (groups === undefined) throw new AppError('forbidden', `the ID token's ${oidc.groupsClaim} claim is not a list of group names`);
  const mapped = membershipFromGroups(oidc, groups);
  if ('refusal' in mapped) throw new AppError('forbidden', `${principal} may not sign in: ${mapped.refusal}`);
  const { membership } = mapped;
  const token = `${SESSION_TOKEN_PREFIX}${randomBytes(SESSION_SECRET_BYTES).toString('base64url')}`;
  const createdAt = now.toISOString();
  const session: StoredSession = {
    id: `ses_${randomBytes(SESSION_ID_BYTES).toString('hex')}`,
    tokenHash: hashSecret(token),
    idTokenHash: hashSecret(input.idToken),
    principal,
    roles: membership.roles,
    team: membership.team,
    approverGroups: membership.approverGroups,
    issuer: oidc.issuer,
    subject: typeof claims.sub === 'string' ? claims.sub : '',
    createdAt,
    expiresAt: new Date(now.getTime() + ttlToMs(oidc.sessionTtl)).toISOString(),
    endedAt: null,
  };
  await deps.store.transaction(async (tx) => {
    await tx.insertSession(session);
    await tx.appendLedger([sessionEntry('session_started', session, createdAt, sourceAddress, { groups: groups.filter((g) => Object.prototype.hasOwnProperty.call(oidc.groups, g)).sort() })]);
  });
  return { session: token, info: sessionInfo(session) };
}

/** End the caller's own session (DELETE /v1/sessions/current): it stops working at once, on every instance. */
export async function endSession(deps: SessionServiceDeps, sessionId: string | undefined, sourceAddress: string | null): Promise<SessionInfo> {
  if (!sessionId) throw new AppError('invalid_input', 'this call ends a sign-in session, and the bearer is not one (admin tokens are revoked with breakglass admin token revoke)');
  return deps.store.transaction(async (tx) => {
    const session = await tx.getSession(sessionId);
    if (!session) throw new AppError('not_found', `session ${sessionId} not found`);
    if (session.endedAt) throw new AppError('illegal_transition', `session ${sessionId} has already ended`, { currentState: 'ended' });
    const at = deps.clock().toISOString();
    await tx.endSession(sessionId, at);
    await tx.appendLedger([sessionEntry('session_ended', session, at, sourceAddress, {})]);
    return sessionInfo({ ...session, endedAt: at });
  });
}

function principalFrom(oidc: OidcSignIn, claims: JWTPayload): string {
  const value = claimText(claims, oidc.principalClaim);
  if (value === undefined || value === '') throw new AppError('forbidden', `the ID token has no ${oidc.principalClaim} claim to name the principal (identity.oidc.principalClaim): ask for the scope that carries it`);
  const parsed = PrincipalNameSchema.safeParse(value);
  if (!parsed.success) throw new AppError('forbidden', `the ID token's ${oidc.principalClaim} (${JSON.stringify(value)}) is not a principal name: ${parsed.error.issues[0]?.message}`);
  if (oidc.principalClaim === 'email' && claims.email_verified === false) throw new AppError('forbidden', `${value} is not verified at the identity provider (email_verified is false)`);
  if (RESERVED_PRINCIPALS.includes(value.toLowerCase())) throw new AppError('forbidden', `"${value}" is reserved for the store's own ledger entries`);
  return value;
}

/** session_started / session_ended: who holds which rights from when to when, replayable from the ledger. */
function sessionEntry(type: 'session_started' | 'session_ended', s: StoredSession, time: string, sourceAddress: string | null, extra: Record<string, unknown>): NewLedgerEntry {
  return {
    time,
    type,
    actor: s.principal,
    actorRole: s.roles[0] ?? 'requester',
    target: s.id,
    gate: null,
    reason: null,
    incidentRef: null,
    approver: null,
    expiresAt: s.expiresAt,
    sourceAddress,
    data: { sessionId: s.id, issuer: s.issuer, subject: s.subject, roles: s.roles, team: s.team, approverGroups: s.approverGroups, ...extra },
  };
}
