import type { Scope } from '../domain/common';
import type { Gate } from '../domain/policy';
import type { FieldError } from '../errors';
import { scopeCovers } from './scope-match';

/**
 * A gate's scope rule, from its policy entry: the attribute keys a bypass scope names (exactly
 * those), a pattern per key its value must match in full, and whether a checked subject may
 * carry other attributes. One rule for requests, standing scopes, pre-approval rules, emergency
 * seals and the gate check (its hot path included), so a scope is exactly as wide as it reads.
 */
export interface ScopeRule {
  gate: string;
  /** In the policy's order. */
  keys: readonly string[];
  patterns: ReadonlyMap<string, { source: string; regex: RegExp }>;
  allowExtraSubjectKeys: boolean;
}

const rules = new WeakMap<Gate, ScopeRule | null>();

/** The gate's scope rule, or undefined for a gate without scopeKeys (policies from before scope rules: plain scopeCovers). */
export function scopeRuleOf(gate: Gate): ScopeRule | undefined {
  const cached = rules.get(gate);
  if (cached !== undefined) return cached ?? undefined;
  let rule: ScopeRule | null = null;
  if (gate.scopeKeys && gate.scopeKeys.length > 0) {
    const patterns = new Map<string, { source: string; regex: RegExp }>();
    for (const [key, source] of Object.entries(gate.scopePatterns ?? {})) patterns.set(key, { source, regex: new RegExp(`^(?:${source})$`, 'u') });
    rule = { gate: gate.id, keys: [...gate.scopeKeys], patterns, allowExtraSubjectKeys: gate.allowExtraSubjectKeys !== false };
  }
  rules.set(gate, rule);
  return rule ?? undefined;
}

const has = (scope: Scope, key: string): boolean => Object.prototype.hasOwnProperty.call(scope, key);

/**
 * Why a scope is not a valid bypass scope for the gate (empty = it is): every declared key
 * present, no other key, every value matching its key's pattern. `exact: false` accepts a scope
 * naming only some of the keys (a standing scope or a pre-approval rule may be wider than one
 * request; it still names only declared keys).
 */
export function scopeErrors(gate: Gate, scope: Scope, path = 'scope', options: { exact?: boolean } = {}): FieldError[] {
  const rule = scopeRuleOf(gate);
  if (!rule) return [];
  const errors: FieldError[] = [];
  const list = rule.keys.join(', ');
  if (options.exact !== false) {
    for (const key of rule.keys) {
      if (!has(scope, key)) errors.push({ path: `${path}.${key}`, message: `gate ${gate.id} needs scope key "${key}" (its scope keys: ${list}), e.g. --scope ${rule.keys.map((k) => `${k}=<${k}>`).join(',')}` });
    }
  }
  for (const key of Object.keys(scope).sort()) {
    if (!rule.keys.includes(key)) {
      errors.push({ path: `${path}.${key}`, message: `"${key}" is not a scope key of gate ${gate.id} (its scope keys: ${list})` });
      continue;
    }
    const pattern = rule.patterns.get(key);
    if (pattern && !pattern.regex.test(scope[key]!)) {
      errors.push({ path: `${path}.${key}`, message: `scope ${key} of gate ${gate.id} must match ${pattern.source} in full` });
    }
  }
  return errors;
}

/**
 * Why a checked subject cannot be under any bypass of the gate, or undefined: it lacks a
 * declared key, or carries another attribute where the gate allows none. The gate then blocks,
 * saying so.
 */
export function subjectRefusal(rule: ScopeRule | undefined, subject: Scope): string | undefined {
  if (!rule) return undefined;
  // The usual subject (every declared key, nothing else) is answered without building arrays:
  // this runs on every gate check; the messages below are built only for a refusal.
  if (rule.keys.every((key) => has(subject, key)) && (rule.allowExtraSubjectKeys || !hasUndeclaredKey(rule, subject))) return undefined;
  const missing = rule.keys.filter((key) => !has(subject, key));
  if (missing.length > 0) return `the subject lacks ${missing.map((k) => `"${k}"`).join(', ')} (gate ${rule.gate} matches on ${rule.keys.join(', ')})`;
  if (!rule.allowExtraSubjectKeys) {
    const extra = Object.keys(subject).filter((key) => !rule.keys.includes(key)).sort();
    if (extra.length > 0) return `the subject carries ${extra.map((k) => `"${k}"`).join(', ')}, which gate ${rule.gate} does not allow (it matches on ${rule.keys.join(', ')} only)`;
  }
  return undefined;
}

/** Whether the subject has an own enumerable key the rule does not declare. */
function hasUndeclaredKey(rule: ScopeRule, subject: Scope): boolean {
  for (const key in subject) if (has(subject, key) && !rule.keys.includes(key)) return true;
  return false;
}

/**
 * Whether a bypass scope covers the subject under the gate's rule: the match is on the declared
 * keys, and the scope must name every one of them (a bypass filed before the gate declared
 * them, with fewer keys, never matches: a policy change narrows, never widens). Without a rule,
 * plain scopeCovers.
 */
export function ruleCovers(rule: ScopeRule | undefined, scope: Scope, subject: Scope): boolean {
  if (rule) {
    for (const key of rule.keys) {
      if (!has(scope, key) || !has(subject, key) || scope[key] !== subject[key]) return false;
    }
  }
  return scopeCovers(scope, subject);
}

/** The subject cut down to the gate's declared keys (the scope a block answer suggests to request; the caller has checked subjectRefusal). */
export function declaredScope(rule: ScopeRule | undefined, subject: Scope): Scope {
  if (!rule) return subject;
  const part: Scope = {};
  for (const key of rule.keys) if (has(subject, key)) part[key] = subject[key]!;
  return part;
}
