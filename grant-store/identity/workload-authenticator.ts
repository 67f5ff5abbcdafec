import type { Policy } from '../../shared/domain/policy';
import type { WorkloadIssuer } from '../../shared/domain/policy-identity';
import { AppError } from '../../shared/errors';
import { claimText, deriveSubject, matchWorkloadPrincipal, type DerivedSubject } from '../../shared/identity/workload-subject';
import { claimedIssuer, verifyIdToken } from './id-token-verifier';
import type { IssuerKeys } from './issuer-keys';
import { workloadContext } from './workload-context';

/** A CI job authenticated by its OIDC ID token, as the check route needs it. */
export interface WorkloadCaller {
  principal: string;
  issuerId: string;
  issuer: string;
  /** Subject attributes from the token's claims, and every key the token owns. */
  derived: DerivedSubject;
  /** Subject keys the job may add itself (the principal rule's subjectKeys). */
  extraKeys: readonly string[];
  /** Gates the rule allows, or null for every gate. */
  gates: readonly string[] | null;
  /** Trusted context (`oidc.*`) recorded with evaluations. */
  context: Readonly<Record<string, string>>;
  /** Token expiry, epoch ms. */
  expiresAt: number;
}

/** Verified tokens kept until they expire, so a job's repeated checks skip the signature check. */
const CACHE_MAX = 10_000;

/**
 * Authenticates gates by their CI's OIDC ID token (GitHub Actions, GitLab CI, any issuer the
 * policy trusts): the token is verified against the issuer's keys for the issuer's audience,
 * mapped to a gate principal by the policy's claim patterns, and its subject derived from its
 * claims. Verified tokens are cached until expiry (and per policy: a reload re-evaluates them).
 */
export class WorkloadAuthenticator {
  private cache = new Map<string, WorkloadCaller>();
  private cachedFor: Policy | undefined;

  constructor(
    private readonly keys: IssuerKeys,
    private readonly policy: () => Policy,
    private readonly clock: () => Date,
  ) {}

  /** The cached answer for a token verified before (still valid at the server clock), without a promise. */
  peek(token: string): WorkloadCaller | undefined {
    if (this.cachedFor !== this.policy()) return undefined;
    const hit = this.cache.get(token);
    if (!hit) return undefined;
    if (hit.expiresAt <= this.clock().getTime()) {
      this.cache.delete(token);
      return undefined;
    }
    return hit;
  }

  async authenticate(token: string): Promise<WorkloadCaller> {
    const cached = this.peek(token);
    if (cached) return cached;
    const policy = this.policy();
    const workloads = policy.identity?.workloads;
    if (!workloads) throw new AppError('unauthenticated', 'this store accepts no workload tokens (the policy has no identity.workloads section)');
    const iss = claimedIssuer(token);
    const candidates = workloads.issuers.filter((i) => i.issuer === iss);
    if (candidates.length === 0) throw new AppError('unauthenticated', `workload tokens from ${iss} are not trusted (identity.workloads.issuers: ${workloads.issuers.map((i) => i.issuer).join(', ')})`);
    const now = this.clock();
    const { issuer, payload } = await this.verifyWithAny(token, candidates, now);
    const claims = payload as Record<string, unknown>;
    const rule = matchWorkloadPrincipal(workloads, issuer.id, claims);
    if (!rule) {
      const seen = [...new Set(workloads.principals.filter((r) => r.issuer === issuer.id).flatMap((r) => Object.keys(r.claims)))]
        .map((claim) => `${claim}=${claimText(claims, claim) ?? '(none)'}`)
        .join(', ');
      throw new AppError('forbidden', `no workload principal in the policy matches this ${issuer.id} token (${seen})`);
    }
    const caller: WorkloadCaller = {
      principal: rule.principal,
      issuerId: issuer.id,
      issuer: issuer.issuer,
      derived: deriveSubject(issuer, claims),
      extraKeys: rule.subjectKeys,
      gates: rule.gates ?? null,
      context: workloadContext(issuer.format, claims),
      expiresAt: (payload.exp as number) * 1000,
    };
    this.remember(policy, token, caller, now.getTime());
    return caller;
  }

  private async verifyWithAny(token: string, candidates: WorkloadIssuer[], now: Date) {
    // The same issuer may be listed with several audiences (one store, two CI setups): the
    // token's audience picks the entry; with none matching, report against the first.
    let firstError: unknown;
    for (const issuer of candidates) {
      try {
        return { issuer, payload: await verifyIdToken(this.keys, token, { issuer: issuer.issuer, audience: issuer.audience, now, what: 'workload token' }) };
      } catch (error) {
        firstError ??= error;
        if (!(error instanceof AppError) || !/another audience/.test(error.message)) throw error;
      }
    }
    throw firstError;
  }

  private remember(policy: Policy, token: string, caller: WorkloadCaller, nowMs: number): void {
    if (this.cachedFor !== policy) {
      this.cache = new Map();
      this.cachedFor = policy;
    }
    if (this.cache.size >= CACHE_MAX) {
      for (const [key, value] of this.cache) if (value.expiresAt <= nowMs) this.cache.delete(key);
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
    }
    this.cache.set(token, caller);
  }
}
