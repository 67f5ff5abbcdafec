import { MAX_SCOPE_VALUE_LENGTH, SCOPE_VALUE_PATTERN, type Scope } from '../domain/common';
import { subjectDerivations, type ClaimDerivation, type WorkloadIdentity, type WorkloadIssuer, type WorkloadPrincipal } from '../domain/policy-identity';
import type { FieldError } from '../errors';

/**
 * The rules that turn a CI job's verified ID token into a gate principal and a subject. The
 * token's claims are the truth: attributes the issuer's derivation covers (repo, branch, tag,
 * environment...) come from the claims and a job cannot set them to anything else, so a job in
 * repository a cannot obtain a verdict for repository b.
 */

export type Claims = Readonly<Record<string, unknown>>;

/** A claim as text: strings as they are, finite numbers and booleans written out; anything else has no text. */
export function claimText(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  return undefined;
}

const globCache = new Map<string, RegExp>();
const GLOB_CACHE_MAX = 1000;

/** `*` matches any run of characters but `/`, `**` any run at all; everything else is literal; the whole value must match. */
export function globMatches(pattern: string, value: string): boolean {
  let regex = globCache.get(pattern);
  if (!regex) {
    const source = pattern
      .split('**')
      .map((part) => part.split('*').map(escapeRegex).join('[^/]*'))
      .join('.*');
    regex = new RegExp(`^${source}$`, 's');
    if (globCache.size >= GLOB_CACHE_MAX) globCache.clear();
    globCache.set(pattern, regex);
  }
  return regex.test(value);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether every claim pattern of `rule` matches the token's claims. */
export function principalRuleMatches(rule: WorkloadPrincipal, claims: Claims): boolean {
  return Object.entries(rule.claims).every(([claim, pattern]) => {
    const value = claimText(claims, claim);
    if (value === undefined) return false;
    return (Array.isArray(pattern) ? pattern : [pattern]).some((p) => globMatches(p, value));
  });
}

/** The first principal rule (in policy order) of issuer `issuerId` that the claims match. */
export function matchWorkloadPrincipal(workloads: WorkloadIdentity, issuerId: string, claims: Claims): WorkloadPrincipal | undefined {
  return workloads.principals.find((rule) => rule.issuer === issuerId && principalRuleMatches(rule, claims));
}

export interface DerivedSubject {
  /** Attributes the claims give (only those with a value a scope can hold). */
  subject: Record<string, string>;
  /** Every attribute the issuer's derivation covers, derived or not: a job may never set these itself. */
  ownedKeys: ReadonlySet<string>;
}

/** Read the subject attributes from the claims with the issuer's derivation rules. */
export function deriveSubject(issuer: Pick<WorkloadIssuer, 'format' | 'subject'>, claims: Claims): DerivedSubject {
  const derivations = subjectDerivations(issuer);
  const subject: Record<string, string> = {};
  for (const [key, derivation] of Object.entries(derivations)) {
    const value = deriveOne(derivation, claims);
    if (value !== undefined && value.length <= MAX_SCOPE_VALUE_LENGTH && SCOPE_VALUE_PATTERN.test(value)) subject[key] = value;
  }
  return { subject, ownedKeys: new Set(Object.keys(derivations)) };
}

function deriveOne(derivation: ClaimDerivation, claims: Claims): string | undefined {
  for (const [claim, expected] of Object.entries(derivation.when ?? {})) {
    if (claimText(claims, claim) !== expected) return undefined;
  }
  const value = claimText(claims, derivation.claim);
  if (value === undefined || value === '') return undefined;
  if (derivation.pattern === undefined) return value;
  const match = new RegExp(derivation.pattern, 's').exec(value);
  return match?.[1] || undefined;
}

/**
 * The subject a check runs on: the derived attributes, plus the attributes the job sent that the
 * principal rule lets it add (`subjectKeys`). Sending a derived attribute is allowed only with
 * the derived value; sending an owned attribute the token does not carry, or any other key, is
 * refused. Returns the subject or the field errors (paths `subject.<key>`).
 */
export function reconcileSubject(derived: DerivedSubject, requested: Readonly<Scope> | undefined, extraKeys: readonly string[]): { subject: Scope } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const subject: Record<string, string> = { ...derived.subject };
  for (const [key, value] of Object.entries(requested ?? {})) {
    if (derived.ownedKeys.has(key)) {
      const truth = derived.subject[key];
      if (truth === undefined) errors.push({ path: `subject.${key}`, message: `the workload token carries no ${key}: a job cannot set it` });
      else if (truth !== value) errors.push({ path: `subject.${key}`, message: `contradicts the workload token: it says ${key}=${truth}` });
    } else if (extraKeys.includes(key)) {
      subject[key] = value;
    } else {
      errors.push({ path: `subject.${key}`, message: `${key} is not derived from the workload token and the policy does not let this workload set it (subjectKeys: ${extraKeys.join(', ') || 'none'})` });
    }
  }
  if (errors.length > 0) return { errors };
  if (Object.keys(subject).length === 0) return { errors: [{ path: 'subject', message: 'the workload token gives no subject attribute and none was sent' }] };
  return { subject };
}
