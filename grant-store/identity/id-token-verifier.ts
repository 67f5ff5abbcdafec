import { decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../../shared/errors';
import type { IssuerKeys } from './issuer-keys';

/** Asymmetric algorithms only: an HMAC (`HS256`) token would be "signed" with a secret the verifier has to know. */
export const ID_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Allowed clock difference between the issuer and the store when checking exp, nbf and iat. */
export const CLOCK_TOLERANCE_S = 30;
/** Bearer JWTs are compact JWS: three base64url parts, the header starting `{"` (eyJ). */
const COMPACT_JWT = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_JWT_LENGTH = 16 * 1024;

export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_JWT_LENGTH && COMPACT_JWT.test(token);
}

/** The `iss` a token claims, read before verification only to pick the policy entry (and its keys) to verify it with. */
export function claimedIssuer(token: string): string {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new AppError('unauthenticated', 'malformed ID token: not a JWT');
  }
  if (typeof payload.iss !== 'string' || payload.iss === '') throw new AppError('unauthenticated', 'the ID token names no issuer (iss)');
  return payload.iss;
}

export interface VerifyIdTokenOptions {
  issuer: string;
  audience: string;
  /** Server clock. */
  now: Date;
  /** Refuse tokens issued longer ago than this (seconds). */
  maxAgeSeconds?: number;
  /** What the token is, for messages ("ID token", "workload token"). */
  what?: string;
}

/**
 * Verify a JWT from `issuer` for `audience` against the issuer's published keys: signature,
 * algorithm, iss, aud (and azp when there are several audiences, OIDC Core 3.1.3.7), exp, nbf,
 * iat. Every refusal is AppError('unauthenticated') saying what was wrong; an issuer whose keys
 * cannot be fetched is AppError('unavailable') (the caller fails closed).
 */
export async function verifyIdToken(keys: IssuerKeys, token: string, options: VerifyIdTokenOptions): Promise<JWTPayload> {
  const what = options.what ?? 'ID token';
  const getKey = await keys.keysFor(options.issuer);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: ID_TOKEN_ALGORITHMS,
      currentDate: options.now,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'iat'],
      ...(options.maxAgeSeconds !== undefined ? { maxTokenAge: options.maxAgeSeconds } : {}),
    }));
  } catch (error) {
    throw refusal(error, what, options);
  }
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== options.audience) {
    throw new AppError('unauthenticated', `the ${what} has several audiences and its authorized party (azp) is ${String(payload.azp ?? 'missing')}, not ${options.audience}`);
  }
  return payload;
}

function refusal(error: unknown, what: string, options: VerifyIdTokenOptions): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof errors.JWTExpired) return new AppError('unauthenticated', `the ${what} has expired (exp ${isoOf(error.payload.exp)}, now ${options.now.toISOString()})`);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === 'aud') return new AppError('unauthenticated', `the ${what} is for another audience (${JSON.stringify(error.payload.aud)}), not ${options.audience}`);
    if (claim === 'iss') return new AppError('unauthenticated', `the ${what} is from issuer ${String(error.payload.iss)}, not ${options.issuer}`);
    if (claim === 'iat' && options.maxAgeSeconds !== undefined) return new AppError('unauthenticated', `the ${what} was issued too long ago (iat ${isoOf(error.payload.iat)}; at most ${options.maxAgeSeconds} s old): sign in again`);
    if (claim === 'nbf') return new AppError('unauthenticated', `the ${what} is not valid yet (nbf ${isoOf(error.payload.nbf)})`);
    return new AppError('unauthenticated', `the ${what} failed the ${claim} check: ${error.reason}`);
  }
  if (error instanceof errors.JWKSNoMatchingKey) return new AppError('unauthenticated', `the ${what} is signed with a key ${options.issuer} does not publish`);
  if (error instanceof errors.JWSSignatureVerificationFailed) return new AppError('unauthenticated', `the ${what}'s signature does not verify with ${options.issuer}'s keys`);
  if (error instanceof errors.JOSEAlgNotAllowed) return new AppError('unauthenticated', `the ${what} uses an algorithm the store does not accept (allowed: ${ID_TOKEN_ALGORITHMS.join(', ')})`);
  if (error instanceof errors.JWKSTimeout || (error instanceof Error && /fetch|ECONNREFUSED|network/i.test(error.message) && !(error instanceof errors.JOSEError))) {
    return new AppError('unavailable', `cannot fetch the keys of ${options.issuer}: ${(error as Error).message}`);
  }
  if (error instanceof errors.JOSEError) return new AppError('unauthenticated', `the ${what} is not valid: ${error.message}`);
  return new AppError('unavailable', `cannot verify the ${what} with ${options.issuer}'s keys: ${(error as Error)?.message ?? String(error)}`);
}

function isoOf(epochSeconds: unknown): string {
  return typeof epochSeconds === 'number' ? new Date(epochSeconds * 1000).toISOString() : String(epochSeconds);
}
