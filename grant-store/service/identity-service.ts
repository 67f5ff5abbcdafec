import { randomBytes } from 'node:crypto';
import { KeyEnrollInputSchema, TPM_CHALLENGE_TTL_MS, TPM_CHALLENGES_OPEN_MAX, TokenCreateInputSchema, TpmChallengeInputSchema, keyHardware, type EnrolledKey, type KeyAttestation, type KeyEnrollInput, type TokenInfo, type TpmChallenge, type WhoAmI } from '../../shared/domain/identity';
import { PrincipalNameSchema } from '../../shared/domain/common';
import { AppError, parseOrThrow } from '../../shared/errors';
import { approverGroupsOf, teamOf } from '../../shared/policy/tier-resolution';
import { keyIdFromPublicKey, parsePublicKeyPem } from '../../shared/node/signing/key-id';
import type { StoreTx, StoredToken } from '../storage/store';
import { requireRole } from './access';
import { auditEntry } from './audit-entry';
import { newId, sha256Hex } from './ids';
import type { Caller, ServiceDeps } from './service-deps';
import { sessionCaller } from '../identity/session-auth';
import { SESSION_TOKEN_PREFIX } from '../identity/stored-session';
import { verifyKeyAttestation } from '../identity/key-attestation';
import { TPM_CHALLENGE_META_PREFIX, TPM_CHALLENGE_USED_META_PREFIX, issueTpmChallenge, type TpmChallengeRecord } from '../identity/tpm-ek-attestation';

/** 32 random bytes: a bearer secret nobody guesses. The `bgt_` prefix makes leaked tokens greppable. */
const TOKEN_SECRET_BYTES = 32;
const TOKEN_PREFIX = 'bgt_';
const DAY_MS = 86_400_000;
/** The ledger's actor for expiry, lapse and review opening: no person may hold a token under it. */
const RESERVED_PRINCIPALS = ['system'];

export function hashToken(token: string): string {
  return sha256Hex(token);
}

export function tokenInfo(t: StoredToken): TokenInfo {
  return { id: t.id, principal: t.principal, roles: t.roles, createdAt: t.createdAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt };
}

/**
 * Resolve a bearer token to its principal. Unknown, expired and revoked tokens all get the same
 * 401 (which one is not the caller's business).
 */
export async function authenticate(deps: ServiceDeps, token: string | undefined, sourceAddress: string | null): Promise<Caller> {
  if (!token) throw new AppError('unauthenticated', 'missing bearer token (Authorization: Bearer <token>, or BREAKGLASS_TOKEN)');
  if (token.startsWith(SESSION_TOKEN_PREFIX)) {
    if (!deps.identity) throw new AppError('unauthenticated', 'this grant store takes no sign-in sessions: use a token from an admin');
    return sessionCaller(await deps.identity.sessions.get(hashToken(token)), deps.clock(), sourceAddress);
  }
  return callerFor(deps, await (deps.tokens ?? deps.store).getTokenByHash(hashToken(token)), sourceAddress);
}

/**
 * The same answer as authenticate() when the token is in the token cache, synchronously (the
 * gate-check hot path skips a promise per request); undefined when it must be looked up.
 */
export function authenticateCached(deps: ServiceDeps, token: string, sourceAddress: string | null): Caller | undefined {
  if (token.startsWith(SESSION_TOKEN_PREFIX)) {
    const session = deps.identity?.sessions.peek(hashToken(token));
    return session ? sessionCaller(session, deps.clock(), sourceAddress) : undefined;
  }
  const stored = deps.tokens?.peekBearer?.(token, hashToken);
  return stored ? callerFor(deps, stored, sourceAddress) : undefined;
}

function callerFor(deps: ServiceDeps, stored: StoredToken | undefined, sourceAddress: string | null): Caller {
  // The clock is read only for a token that expires (a gate's usually does not): a check answered
  // from memory spends no Date and ISO string on it.
  if (!stored || stored.revokedAt || (stored.expiresAt && stored.expiresAt <= deps.clock().toISOString())) {
    throw new AppError('unauthenticated', 'unknown, expired or revoked token');
  }
  return { principal: stored.principal, roles: stored.roles, sourceAddress };
}

/** Create a token inside an existing transaction (used by admin init and the API). */
export async function createTokenInTx(tx: StoreTx, caller: Caller, body: unknown, now: Date): Promise<{ token: string; info: TokenInfo }> {
  const input = parseOrThrow(TokenCreateInputSchema, body, 'token');
  if (RESERVED_PRINCIPALS.includes(input.principal.toLowerCase())) {
    throw new AppError('invalid_input', `"${input.principal}" is reserved`, { fieldErrors: [{ path: 'principal', message: `"${input.principal}" is reserved for the store's own ledger entries` }] });
  }
  const token = `${TOKEN_PREFIX}${randomBytes(TOKEN_SECRET_BYTES).toString('base64url')}`;
  const stored: StoredToken = {
    id: newId('tok'),
    tokenHash: hashToken(token),
    principal: input.principal,
    roles: [...new Set(input.roles)],
    createdAt: now.toISOString(),
    expiresAt: input.expiresInDays ? new Date(now.getTime() + input.expiresInDays * DAY_MS).toISOString() : null,
    revokedAt: null,
  };
  await tx.insertToken(stored);
  await tx.appendLedger([
    auditEntry(stored.createdAt, 'principal_enrolled', caller, {
      target: stored.principal,
      actorRole: 'admin',
      expiresAt: stored.expiresAt,
      // The bearer's SHA-256 (a 256-bit secret: its hash reveals nothing) binds the token row to
      // this entry, so a hash swapped in the database is a tamper alarm, not a new credential.
      data: { tokenId: stored.id, roles: stored.roles, tokenHash: stored.tokenHash },
    }),
  ]);
  return { token, info: tokenInfo(stored) };
}

export async function createToken(deps: ServiceDeps, caller: Caller, body: unknown): Promise<{ token: string; info: TokenInfo }> {
  requireRole(caller, 'admin');
  parseOrThrow(TokenCreateInputSchema, body, 'token');
  return deps.store.transaction((tx) => createTokenInTx(tx, caller, body, deps.clock()));
}

export async function listTokens(deps: ServiceDeps, caller: Caller): Promise<TokenInfo[]> {
  requireRole(caller, 'admin');
  return (await deps.store.listTokens()).map(tokenInfo);
}

export async function revokeToken(deps: ServiceDeps, caller: Caller, id: string): Promise<TokenInfo> {
  requireRole(caller, 'admin');
  return deps.store.transaction(async (tx) => {
    const token = await tx.getToken(id);
    if (!token) throw new AppError('not_found', `token ${id} not found`);
    if (token.revokedAt) throw new AppError('illegal_transition', `token ${id} is already revoked`, { currentState: 'revoked' });
    const at = deps.clock().toISOString();
    await tx.revokeToken(id, at);
    await tx.appendLedger([auditEntry(at, 'token_revoked', caller, { target: token.principal, actorRole: 'admin', data: { tokenId: id } })]);
    return tokenInfo({ ...token, revokedAt: at });
  });
}

function principalParam(principal: string): string {
  return parseOrThrow(PrincipalNameSchema, principal, 'principal');
}

/** Enroll an approver's public signing key (ECDSA P-256 or Ed25519). */
export async function enrollKey(deps: ServiceDeps, caller: Caller, principal: string, body: unknown): Promise<EnrolledKey> {
  requireRole(caller, 'admin');
  const name = principalParam(principal);
  const input = parseOrThrow(KeyEnrollInputSchema, body, 'key');
  let keyId: string;
  try {
    const key = parsePublicKeyPem(input.publicKeyPem);
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (!(key.asymmetricKeyType === 'ed25519' || (key.asymmetricKeyType === 'ec' && curve === 'prime256v1'))) {
      throw new AppError('invalid_input', `unsupported key type ${key.asymmetricKeyType}${curve ? ` (${curve})` : ''}: use ECDSA P-256 or Ed25519`);
    }
    keyId = keyIdFromPublicKey(key);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new AppError('invalid_input', message, { fieldErrors: [{ path: 'publicKeyPem', message }] });
  }
  // An attestation is verified against the policy's roots before anything is written; a key
  // enrolled as hardware without one is recorded as `claimed` (keyHardware).
  if (input.attestation?.kind === 'tpm-ek') return enrollEkAttestedKey(deps, caller, name, keyId, input);
  const attestation = input.attestation ? verifyKeyAttestation(input.attestation, input.publicKeyPem, { principal: name, roots: deps.policies.policy.attestation.roots, now: deps.clock() }) : null;
  return deps.store.transaction((tx) => insertEnrolledKey(deps, tx, caller, name, keyId, input, attestation));
}

async function insertEnrolledKey(deps: ServiceDeps, tx: StoreTx, caller: Caller, name: string, keyId: string, input: KeyEnrollInput, attestation: KeyAttestation | null): Promise<EnrolledKey> {
  const at = deps.clock().toISOString();
  const key: EnrolledKey = { keyId, principal: name, publicKeyPem: input.publicKeyPem.trim() + '\n', hardwareBacked: input.hardwareBacked || attestation !== null, attestation, label: input.label ?? null, enrolledAt: at, revokedAt: null };
  await tx.insertKey(key);
  await tx.appendLedger([
    auditEntry(at, 'key_enrolled', caller, { target: keyId, actorRole: 'admin', approver: name, data: { principal: name, keyId, publicKeyPem: key.publicKeyPem, hardwareBacked: key.hardwareBacked, hardware: keyHardware(key), attestation, label: key.label } }),
  ]);
  return key;
}

/**
 * Enrollment answering a TPM challenge (endorsement-key anchored): the challenge is used up by
 * the first enrollment that presents it, accepted or refused (the refusal is committed with
 * the use, so a wrong secret cannot be tried again), and across instances exactly one wins.
 */
async function enrollEkAttestedKey(deps: ServiceDeps, caller: Caller, name: string, keyId: string, input: KeyEnrollInput): Promise<EnrolledKey> {
  const attestationInput = input.attestation!;
  if (attestationInput.kind !== 'tpm-ek') throw new Error('unreachable: not a tpm-ek attestation');
  const id = attestationInput.challengeId;
  const outcome = await deps.store.transaction(async (tx): Promise<{ key: EnrolledKey } | { refused: AppError }> => {
    const at = deps.clock();
    const text = await tx.getMeta(TPM_CHALLENGE_META_PREFIX + id);
    if (text === undefined) return { refused: attestationRefusal(`unknown challenge ${id}: this store never issued it`) };
    if (!(await tx.claimMeta(TPM_CHALLENGE_USED_META_PREFIX + id, JSON.stringify({ at: at.toISOString(), by: caller.principal, principal: name })))) {
      return { refused: attestationRefusal(`replayed challenge ${id}: it was already answered (a challenge is used once; run \`breakglass keygen --tpm --ek\` again)`) };
    }
    let attestation: KeyAttestation;
    try {
      attestation = verifyKeyAttestation(attestationInput, input.publicKeyPem, { principal: name, roots: deps.policies.policy.attestation.roots, now: at, challenge: JSON.parse(text) as TpmChallengeRecord });
    } catch (error) {
      if (error instanceof AppError && error.code === 'invalid_input') return { refused: error };
      throw error;
    }
    return { key: await insertEnrolledKey(deps, tx, caller, name, keyId, input, attestation) };
  });
  if ('refused' in outcome) throw outcome.refused;
  return outcome.key;
}

function attestationRefusal(message: string): AppError {
  return new AppError('invalid_input', `attestation: ${message}`, { fieldErrors: [{ path: 'attestation', message }] });
}

/**
 * The first half of an endorsement-key enrollment: a credential for the TPM whose EK
 * certificate chains to a `tpm-ek` root, bound to the attestation key handed in and to
 * `principal`. An approver asks for itself; an admin for anyone. Kept (meta), the secret only as
 * its SHA-256, until it has expired (keepTpmChallenge); at most TPM_CHALLENGES_OPEN_MAX at once.
 */
export async function createTpmChallenge(deps: ServiceDeps, caller: Caller, principal: string, body: unknown): Promise<TpmChallenge> {
  requireRole(caller, 'approver', 'admin');
  const name = principalParam(principal);
  if (!caller.roles.includes('admin') && caller.principal !== name) throw new AppError('forbidden', `${caller.principal} may ask for a TPM challenge only for itself, not for ${name}`);
  const input = parseOrThrow(TpmChallengeInputSchema, body, 'challenge');
  const now = deps.clock();
  const { challenge, record } = issueTpmChallenge(input, { principal: name, roots: deps.policies.policy.attestation.roots, now, id: `tpmc_${randomBytes(16).toString('hex')}` });
  await deps.store.transaction(async (tx) => keepTpmChallenge(tx, challenge.challengeId, record, now));
  return challenge;
}

/**
 * Store a new challenge, first removing every expired one (and its used mark: an expired
 * challenge is refused as unknown, answered or not) and refusing a principal who already holds
 * TPM_CHALLENGES_OPEN_MAX unexpired ones. Under one lock across instances, so the bound holds.
 */
async function keepTpmChallenge(tx: StoreTx, id: string, record: TpmChallengeRecord, now: Date): Promise<void> {
  await tx.lockMeta(TPM_CHALLENGE_META_PREFIX);
  const expired: string[] = [];
  const at = now.toISOString();
  let held = 0;
  for (const { key, value } of await tx.listMeta(TPM_CHALLENGE_META_PREFIX)) {
    let kept: Partial<TpmChallengeRecord>;
    try {
      kept = JSON.parse(value) as Partial<TpmChallengeRecord>;
    } catch {
      kept = {};
    }
    // A record that does not read (none this store writes) cannot be answered either: removed.
    if (typeof kept.expiresAt !== 'string' || at >= kept.expiresAt) {
      const challengeId = key.slice(TPM_CHALLENGE_META_PREFIX.length);
      expired.push(key, TPM_CHALLENGE_USED_META_PREFIX + challengeId);
    } else if (kept.principal === record.principal) held++;
  }
  await tx.deleteMeta(expired);
  if (held >= TPM_CHALLENGES_OPEN_MAX) {
    throw new AppError('conflict', `${record.principal} already holds ${held} unexpired TPM challenges (at most ${TPM_CHALLENGES_OPEN_MAX}); answer one with an enrollment, or ask again once the oldest expires (${TPM_CHALLENGE_TTL_MS / 60_000} min after it was issued)`);
  }
  await tx.setMeta(TPM_CHALLENGE_META_PREFIX + id, JSON.stringify(record));
}

export async function listKeys(deps: ServiceDeps, caller: Caller, principal: string): Promise<EnrolledKey[]> {
  requireRole(caller, 'admin', 'auditor');
  return deps.store.listKeys(principalParam(principal));
}

export async function revokeKey(deps: ServiceDeps, caller: Caller, principal: string, keyId: string): Promise<EnrolledKey> {
  requireRole(caller, 'admin');
  const name = principalParam(principal);
  return deps.store.transaction(async (tx) => {
    const key = await tx.getKey(keyId);
    if (!key || key.principal !== name) throw new AppError('not_found', `key ${keyId} of ${name} not found`);
    if (key.revokedAt) throw new AppError('illegal_transition', `key ${keyId} is already revoked`, { currentState: 'revoked' });
    const at = deps.clock().toISOString();
    await tx.revokeKey(keyId, at);
    await tx.appendLedger([auditEntry(at, 'key_revoked', caller, { target: keyId, actorRole: 'admin', approver: name, data: { principal: name, keyId } })]);
    return { ...key, revokedAt: at };
  });
}

export async function whoAmI(deps: ServiceDeps, caller: Caller): Promise<WhoAmI> {
  const policy = deps.policies.policy;
  return {
    principal: caller.principal,
    roles: [...caller.roles],
    team: teamOf(policy, caller.principal) ?? null,
    approverGroups: approverGroupsOf(policy, caller.principal),
    keys: await deps.store.listKeys(caller.principal),
  };
}
