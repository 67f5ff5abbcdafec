import type { Scope } from '../domain/common';

/**
 * A scope covers a subject when every scope attribute is present in the subject with the
 * same value. Extra subject attributes are fine (the subject is at least as specific); a
 * missing one is not, so a bypass for repo=a,branch=main never matches repo=a alone.
 */
export function scopeCovers(scope: Scope, subject: Scope): boolean {
  const keys = Object.keys(scope);
  if (keys.length === 0) return false; // an empty scope would match everything: never allowed
  return keys.every((key) => Object.prototype.hasOwnProperty.call(subject, key) && subject[key] === scope[key]);
}

/** A bypass matches a gate check when the gate is equal and its scope covers the subject. */
export function bypassMatches(bypass: { gate: string; scope: Scope }, gate: string, subject: Scope): boolean {
  return bypass.gate === gate && scopeCovers(bypass.scope, subject);
}

/** Two scopes are the same set of attributes with the same values. */
export function scopesEqual(a: Scope, b: Scope): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && scopeCovers(a, b);
}

/** `repo=payments-api,branch=main` (keys sorted), as the CLI takes it. */
export function formatScope(scope: Scope): string {
  return Object.keys(scope)
    .sort()
    .map((key) => `${key}=${scope[key]}`)
    .join(',');
}
