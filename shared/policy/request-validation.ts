import { INCIDENT_REQUIRED_SEVERITIES } from '../domain/common';
import type { Policy, StandingScope } from '../domain/policy';
import type { RequestInput } from '../domain/request';
import type { FieldError } from '../errors';
import { isBypassNever } from './policy-requirements';
import { scopeErrors } from './scope-rules';
import { findStandingScope } from './standing-scope';
import { resolveGate } from './tier-resolution';
import { requestedTtlErrors } from './ttl-limits';

export interface RequestPolicyCheck {
  errors: FieldError[];
  /** The standing scope the request uses (it then activates on filing). */
  standing?: StandingScope;
}

/**
 * The policy rules a new request must pass beyond its schema: a known gate that can be bypassed,
 * a scope naming exactly the gate's scopeKeys (each value matching its pattern), an incident
 * reference on sev1/sev2, and a TTL from the list within the tier's max (or the standing
 * scope's max when one applies). `team` is the requester's team from the policy.
 */
export function checkRequestAgainstPolicy(policy: Policy, input: RequestInput, team: string, now: Date): RequestPolicyCheck {
  const errors: FieldError[] = [];
  if (INCIDENT_REQUIRED_SEVERITIES.includes(input.severity) && !input.incidentRef) {
    errors.push({ path: 'incidentRef', message: `an incident reference is required for ${input.severity} (e.g. --incident INC-1190)` });
  }
  const resolved = resolveGate(policy, input.gate);
  if (!resolved) {
    errors.push({ path: 'gate', message: `unknown gate "${input.gate}" (gates: ${policy.gates.map((g) => g.id).join(', ')})` });
    return { errors };
  }
  if (isBypassNever(resolved.gate)) {
    errors.push({ path: 'gate', message: `gate ${input.gate} is a kept ${resolved.gate.kind} gate (bypass: never): no bypass can be requested; fix what it reports instead` });
    return { errors };
  }
  errors.push(...scopeErrors(resolved.gate, input.scope));
  const standing = findStandingScope(policy, { gate: input.gate, team, scope: input.scope, ttl: input.ttl, now });
  errors.push(...requestedTtlErrors(policy, standing ? standing.maxTtl : resolved.tier.maxTtl, input.ttl));
  return standing ? { errors, standing } : { errors };
}
