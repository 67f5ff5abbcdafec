import { PolicySchema, type Gate, type Policy } from '../domain/policy';
import { safetyGateGaps, type SafetyGateRelaxation } from './safety-gates';
import { scopeErrors } from './scope-rules';

/**
 * What a policy must meet to be served, beyond its shape (PolicySchema). Kept apart from the
 * schema so that a policy recorded in an old ledger still parses for the semantic audit; every
 * policy a store loads (serve, reload, admin init) goes through LoadablePolicySchema.
 *
 * - Every gate that can be bypassed declares `scopeKeys`; patterns are only for declared keys.
 * - Every standing scope and pre-approval rule scope names only its gate's declared keys (each
 *   value matching its pattern), and none is for a `bypass: never` gate.
 * - A tier requiring attested keys has an attestation root to verify them against.
 * - A `safety` gate that can be bypassed sits on a tier strong enough to keep it (safetyGateGaps).
 */

export interface PolicyIssue {
  path: (string | number)[];
  message: string;
}

/** Whether the gate can never be bypassed (`bypass: never`: no request, standing scope, pre-approval or emergency credential opens it). */
export function isBypassNever(gate: Pick<Gate, 'bypass'>): boolean {
  return gate.bypass === 'never';
}

/** Every requirement the policy misses, with the policy path to point at. */
export function policyRequirementIssues(policy: Policy, relax: SafetyGateRelaxation = {}): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const gates = new Map(policy.gates.map((g) => [g.id, g]));
  policy.gates.forEach((gate, i) => {
    (gate.scopeKeys ?? []).forEach((key, j, keys) => {
      if (keys.indexOf(key) !== j) issues.push({ path: ['gates', i, 'scopeKeys', j], message: `scope key "${key}" is listed twice` });
    });
    for (const key of Object.keys(gate.scopePatterns ?? {})) {
      if (!gate.scopeKeys?.includes(key)) issues.push({ path: ['gates', i, 'scopePatterns', key], message: `"${key}" is not one of gate ${gate.id}'s scopeKeys (${(gate.scopeKeys ?? []).join(', ') || 'none'})` });
    }
    if (isBypassNever(gate)) return;
    const tier = policy.tiers[gate.tier];
    const gaps = gate.kind === 'safety' && tier ? safetyGateGaps(tier, relax) : [];
    if (gaps.length > 0) {
      issues.push({
        path: ['gates', i, 'tier'],
        message: `gate ${gate.id} is a safety gate but its tier ${gate.tier} does not keep it; the tier needs ${gaps.join(', ')}. Put the gate on a tier that has all of these, or mark it bypass: never (see docs/policy.md, "Safety gates are kept")`,
      });
    }
    if (!gate.scopeKeys || gate.scopeKeys.length === 0) {
      issues.push({
        path: ['gates', i],
        message: `gate ${gate.id} can be bypassed but declares no scopeKeys: list the attributes every bypass scope must name (e.g. scopeKeys: [repo, branch]), or mark it bypass: never (see docs/policy.md, "Migrating to scope keys")`,
      });
    }
  });
  for (const [name, tier] of Object.entries(policy.tiers)) {
    if (tier.attestationRequired && !policy.attestation.roots.length) {
      issues.push({ path: ['tiers', name, 'attestationRequired'], message: `tier ${name} requires attested keys but the policy names no attestation root (attestation.roots): no key could ever approve` });
    }
  }
  policy.standingScopes.forEach((standing, i) => {
    const gate = gates.get(standing.gate);
    if (!gate) return;
    if (isBypassNever(gate)) issues.push({ path: ['standingScopes', i, 'gate'], message: `gate ${gate.id} is bypass: never; a standing scope cannot pre-authorize it` });
    for (const e of scopeErrors(gate, standing.scope, 'scope', { exact: false })) issues.push({ path: ['standingScopes', i, ...e.path.split('.')], message: e.message });
  });
  policy.incidents.rules.forEach((rule, i) => {
    rule.gates.forEach((gateId, j) => {
      const gate = gates.get(gateId);
      if (!gate) return;
      if (isBypassNever(gate)) issues.push({ path: ['incidents', 'rules', i, 'gates', j], message: `gate ${gate.id} is bypass: never; an incident cannot pre-approve it` });
      rule.scopes.forEach((scope, k) => {
        for (const e of scopeErrors(gate, scope, 'scope', { exact: false })) issues.push({ path: ['incidents', 'rules', i, 'scopes', k, ...e.path.split('.').slice(1)], message: e.message });
      });
    });
  });
  return issues;
}

/** PolicySchema plus the requirements above (with the demo's relaxation, when given). */
export function loadablePolicySchema(relax: SafetyGateRelaxation = {}) {
  return PolicySchema.superRefine((policy, ctx) => {
    for (const issue of policyRequirementIssues(policy, relax)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
}

/** What `serve`, a reload and `admin init` accept: PolicySchema plus every requirement above. */
export const LoadablePolicySchema = loadablePolicySchema();
