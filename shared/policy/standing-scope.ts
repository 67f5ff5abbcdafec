import type { Scope } from '../domain/common';
import type { Policy, StandingScope } from '../domain/policy';
import { ttlToMs, type Ttl } from '../domain/ttl';
import { scopeCovers } from './scope-match';

export interface StandingCandidate {
  gate: string;
  team: string;
  scope: Scope;
  ttl: Ttl;
  /** Server time of filing. */
  now: Date;
}

/**
 * The standing (pre-authorized) scope a request falls under, or undefined. It applies when the
 * gate and team are equal, the standing scope covers the requested scope (the request is at
 * least as narrow), the TTL is within the standing maxTtl and today (UTC) is on or before
 * validUntil.
 */
export function findStandingScope(policy: Policy, candidate: StandingCandidate): StandingScope | undefined {
  const today = candidate.now.toISOString().slice(0, 10);
  return policy.standingScopes.find(
    (standing) =>
      standing.gate === candidate.gate &&
      standing.team === candidate.team &&
      scopeCovers(standing.scope, candidate.scope) &&
      ttlToMs(candidate.ttl) <= ttlToMs(standing.maxTtl) &&
      today <= standing.validUntil,
  );
}
