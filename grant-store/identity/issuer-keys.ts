import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { IssuerUrlSchema } from '../../shared/domain/policy-identity';
import { AppError } from '../../shared/errors';

/** The logger subset identity code needs (pino's signature). */
export interface IdentityLogger {
  warn(context: object, message: string): void;
  info?(context: object, message: string): void;
}

/** How long an issuer's discovery document is trusted before it is fetched again (it names the JWKS URL). */
export const DISCOVERY_TTL_MS = 60 * 60_000;
/** A failed discovery is retried after this long, not on every request (an IdP outage must not become a request storm). */
export const DISCOVERY_RETRY_MS = 5_000;
/** Keys are kept this long; an unknown `kid` (a rotation) refetches at most once per cooldown. */
export const JWKS_MAX_AGE_MS = 10 * 60_000;
export const JWKS_COOLDOWN_MS = 30_000;
export const ISSUER_FETCH_TIMEOUT_MS = 5_000;
const MAX_DISCOVERY_BYTES = 64 * 1024;

const DiscoverySchema = z.looseObject({ issuer: z.string(), jwks_uri: z.string() });

interface IssuerEntry {
  keys: Promise<JWTVerifyGetKey>;
  /** Date.now() after which discovery is fetched again. */
  until: number;
}

/**
 * The signing keys of the issuers the policy trusts, from each issuer's OpenID discovery
 * document and its JWKS (jose's remote key set: cached, refetched when a token names a key id it
 * has not seen, so a key rotation needs nothing from an operator). Only issuers named in the
 * policy are ever fetched: a token cannot make the store fetch a URL of its choosing.
 */
export class IssuerKeys {
  private readonly entries = new Map<string, IssuerEntry>();

  constructor(private readonly options: { timeoutMs?: number; cooldownMs?: number; logger?: IdentityLogger } = {}) {}

  /** The key resolver for `issuer` (discovery fetched on first use and every DISCOVERY_TTL_MS). */
  keysFor(issuer: string): Promise<JWTVerifyGetKey> {
    const now = Date.now();
    const hit = this.entries.get(issuer);
    if (hit && now < hit.until) return hit.keys;
    const keys = this.discover(issuer);
    const entry: IssuerEntry = { keys, until: now + DISCOVERY_TTL_MS };
    this.entries.set(issuer, entry);
    // The failure reaches every caller through `keys` (warm() logs it); here it only shortens the cache.
    keys.catch((_reachesCallers: unknown) => {
      // Keep the failure for a moment so callers get the same answer, then let the next call retry.
      entry.until = Date.now() + DISCOVERY_RETRY_MS;
    });
    return keys;
  }

  /** Fetch discovery and keys for these issuers now (at start and on policy reload), logging failures. */
  warm(issuers: readonly string[]): void {
    for (const issuer of new Set(issuers)) {
      this.keysFor(issuer)
        .then((getKey) => (getKey as unknown as { reload(): Promise<void> }).reload())
        .catch((error: unknown) => this.options.logger?.warn({ issuer, err: (error as Error).message }, 'could not fetch the keys of a trusted OIDC issuer; tokens it signs are refused until it answers'));
    }
  }

  private async discover(issuer: string): Promise<JWTVerifyGetKey> {
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const timeoutMs = this.options.timeoutMs ?? ISSUER_FETCH_TIMEOUT_MS;
    let body: unknown;
    try {
      const response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_DISCOVERY_BYTES) throw new Error('discovery document too large');
      body = JSON.parse(text);
    } catch (error) {
      throw new AppError('unavailable', `cannot read the OpenID discovery document of ${issuer} (${url}): ${(error as Error).message}`);
    }
    const parsed = DiscoverySchema.safeParse(body);
    if (!parsed.success) throw new AppError('unavailable', `the discovery document of ${issuer} has no issuer or jwks_uri`);
    if (parsed.data.issuer !== issuer) throw new AppError('unavailable', `the discovery document at ${url} names issuer ${parsed.data.issuer}, not ${issuer}: refusing its keys`);
    if (!IssuerUrlSchema.safeParse(parsed.data.jwks_uri.replace(/\?.*$/, '')).success) {
      throw new AppError('unavailable', `the jwks_uri of ${issuer} (${parsed.data.jwks_uri}) is not https`);
    }
    return createRemoteJWKSet(new URL(parsed.data.jwks_uri), { timeoutDuration: timeoutMs, cooldownDuration: this.options.cooldownMs ?? JWKS_COOLDOWN_MS, cacheMaxAge: JWKS_MAX_AGE_MS });
  }
}
