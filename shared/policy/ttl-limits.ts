import type { FieldError } from '../errors';
import type { Policy, Tier } from '../domain/policy';
import { ttlToMs, type Ttl } from '../domain/ttl';

/**
 * Field errors for a requested TTL: it must be one of the policy's ttlChoices and at most
 * `maxTtl` (the tier's, or a standing scope's when the request uses one). Empty when fine.
 */
export function requestedTtlErrors(policy: Policy, maxTtl: Ttl, ttl: Ttl, path = 'ttl'): FieldError[] {
  if (!policy.ttlChoices.includes(ttl)) {
    return [{ path, message: `ttl ${ttl} is not one of the allowed choices (${policy.ttlChoices.join(', ')})` }];
  }
  if (ttlToMs(ttl) > ttlToMs(maxTtl)) {
    return [{ path, message: `ttl ${ttl} is above the maximum of ${maxTtl} for this gate` }];
  }
  return [];
}

/** Convenience for the tier's own limit. */
export function tierTtlErrors(policy: Policy, tier: Tier, ttl: Ttl): FieldError[] {
  return requestedTtlErrors(policy, tier.maxTtl, ttl);
}

/** An approval may shorten the TTL asked for, never lengthen it. Empty when fine. */
export function approvedTtlErrors(asked: Ttl, granted: Ttl, path = 'ttl'): FieldError[] {
  if (ttlToMs(granted) > ttlToMs(asked)) {
    return [{ path, message: `an approval may shorten the TTL, never lengthen it: ${granted} granted > ${asked} asked` }];
  }
  return [];
}

/** The bypass window once the threshold is met: the shortest TTL any approver granted. */
export function effectiveTtl(granted: readonly Ttl[]): Ttl {
  if (granted.length === 0) throw new Error('effectiveTtl needs at least one granted TTL');
  return granted.reduce((shortest, ttl) => (ttlToMs(ttl) < ttlToMs(shortest) ? ttl : shortest));
}
