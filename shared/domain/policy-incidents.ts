import { z } from 'zod';
import { PrincipalNameSchema, ScopeSchema, SlugSchema } from './common';
import { TtlSchema } from './ttl';

/**
 * The `incidents:` section: on-call pre-approval. Incident systems (PagerDuty v3 webhooks,
 * Opsgenie outgoing webhooks, or any system that signs like our own webhooks) tell the store
 * which incidents are open and who is assigned; a rule maps an incident (service,
 * urgency/priority) to the gates and scopes that its currently assigned responders may bypass
 * at once, citing the incident as `<source>:<incident id>`.
 */

const EnvNameSchema = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name like BREAKGLASS_PAGERDUTY_SECRET');

export const IncidentSourceKindSchema = z.enum(['pagerduty', 'opsgenie', 'generic']);
export type IncidentSourceKind = z.infer<typeof IncidentSourceKindSchema>;

export const IncidentSourceSchema = z.strictObject({
  /** Also the webhook path (POST /v1/incidents/<id>/webhook) and the prefix requests cite (`pagerduty:PGR0VU2`). */
  id: SlugSchema,
  kind: IncidentSourceKindSchema,
  /**
   * Environment variable holding the secret: PagerDuty's subscription signing secret (HMAC-SHA256,
   * X-PagerDuty-Signature), the generic webhook's HMAC secret, or the shared token Opsgenie sends
   * in a custom header (Opsgenie does not sign its webhooks).
   */
  secretEnv: EnvNameSchema,
  /** A second secret accepted during a rotation (the old one while PagerDuty signs with both). */
  previousSecretEnv: EnvNameSchema.optional(),
  /** Opsgenie only: the custom header carrying the token (default X-Breakglass-Token). */
  header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/).optional(),
  /**
   * Events older than this (by the time inside the payload) are refused as stale. PagerDuty
   * retries a delivery for about 20 minutes, hence the default.
   */
  maxEventAge: TtlSchema.default('30m'),
});
export type IncidentSource = z.infer<typeof IncidentSourceSchema>;

/** Which incident-system users a principal is (PagerDuty user ids, Opsgenie usernames, ...), per source id. */
export const ResponderSchema = z.strictObject({
  principal: PrincipalNameSchema,
  ids: z.record(SlugSchema, z.array(z.string().min(1).max(256)).min(1)),
});
export type Responder = z.infer<typeof ResponderSchema>;

export const PreApprovalRuleSchema = z.strictObject({
  id: SlugSchema,
  source: SlugSchema,
  /** PagerDuty service ids or names; Opsgenie entities or tags; the generic payload's service. Omitted: any. */
  services: z.array(z.string().min(1).max(256)).min(1).optional(),
  /** PagerDuty urgency (high, low) or the generic payload's urgency. Omitted: any. */
  urgencies: z.array(z.string().min(1).max(32)).min(1).optional(),
  /** PagerDuty priority name (P1...) or Opsgenie priority (P1...P5). Omitted: any. */
  priorities: z.array(z.string().regex(/^[A-Za-z0-9 _-]{1,32}$/)).min(1).optional(),
  gates: z.array(SlugSchema).min(1),
  /**
   * Scopes a request may name: it must contain every attribute of one of these with the same
   * value (it may add attributes, which only narrows it).
   */
  scopes: z.array(ScopeSchema).min(1),
  /** Longest pre-approved bypass; at most each gate's tier maximum. */
  maxTtl: TtlSchema,
});
export type PreApprovalRule = z.infer<typeof PreApprovalRuleSchema>;

export const IncidentsPolicySchema = z.strictObject({
  sources: z.array(IncidentSourceSchema).default([]),
  responders: z.array(ResponderSchema).default([]),
  rules: z.array(PreApprovalRuleSchema).default([]),
});
export type IncidentsPolicy = z.infer<typeof IncidentsPolicySchema>;

/** What the cross-checks read from the whole policy (structural, so this file need not import policy.ts). */
interface PolicyView {
  ttlChoices: readonly string[];
  gates: ReadonlyArray<{ id: string; tier: string }>;
  tiers: Readonly<Record<string, { maxTtl: string }>>;
  incidents: IncidentsPolicy;
}

type AddIssue = (issue: { path: (string | number)[]; message: string }) => void;

const ttlMinutes = (ttl: string): number => {
  const m = /^(\d+)(m|h|d)$/.exec(ttl);
  return m ? Number(m[1]) * { m: 1, h: 60, d: 1440 }[m[2] as 'm' | 'h' | 'd'] : NaN;
};

/** The `incidents:` rules that need the rest of the policy (called from PolicySchema's superRefine). */
export function checkIncidentsPolicy(policy: PolicyView, addIssue: AddIssue): void {
  const { sources, responders, rules } = policy.incidents;
  const sourceIds = new Set<string>();
  sources.forEach((s, i) => {
    if (sourceIds.has(s.id)) addIssue({ path: ['incidents', 'sources', i, 'id'], message: `duplicate incident source id "${s.id}"` });
    sourceIds.add(s.id);
    if (s.header && s.kind !== 'opsgenie') addIssue({ path: ['incidents', 'sources', i, 'header'], message: 'header is for opsgenie sources (the others are signed)' });
  });
  const principals = new Set<string>();
  const owners = new Map<string, string>();
  responders.forEach((r, i) => {
    if (principals.has(r.principal)) addIssue({ path: ['incidents', 'responders', i, 'principal'], message: `${r.principal} is listed twice: one entry per principal` });
    principals.add(r.principal);
    for (const [source, ids] of Object.entries(r.ids)) {
      if (!sourceIds.has(source)) addIssue({ path: ['incidents', 'responders', i, 'ids', source], message: `unknown incident source "${source}" (sources: ${[...sourceIds].join(', ') || 'none'})` });
      ids.forEach((id, j) => {
        const key = `${source}\u0000${id.toLowerCase()}`;
        const other = owners.get(key);
        if (other && other !== r.principal) addIssue({ path: ['incidents', 'responders', i, 'ids', source, j], message: `${source} user "${id}" is already mapped to ${other}: one incident-system user is one principal` });
        owners.set(key, r.principal);
      });
    }
  });
  const ruleIds = new Set<string>();
  rules.forEach((rule, i) => {
    const at = (...path: (string | number)[]) => ['incidents', 'rules', i, ...path];
    if (ruleIds.has(rule.id)) addIssue({ path: at('id'), message: `duplicate rule id "${rule.id}"` });
    ruleIds.add(rule.id);
    if (!sourceIds.has(rule.source)) addIssue({ path: at('source'), message: `unknown incident source "${rule.source}" (sources: ${[...sourceIds].join(', ') || 'none'})` });
    if (!policy.ttlChoices.includes(rule.maxTtl)) addIssue({ path: at('maxTtl'), message: `maxTtl ${rule.maxTtl} is not one of ttlChoices (${policy.ttlChoices.join(', ')})` });
    rule.gates.forEach((gateId, j) => {
      const gate = policy.gates.find((g) => g.id === gateId);
      if (!gate) {
        addIssue({ path: at('gates', j), message: `unknown gate "${gateId}"` });
        return;
      }
      const tier = policy.tiers[gate.tier];
      if (tier && ttlMinutes(rule.maxTtl) > ttlMinutes(tier.maxTtl)) addIssue({ path: at('maxTtl'), message: `maxTtl ${rule.maxTtl} is longer than gate ${gateId}'s tier ${gate.tier} allows (${tier.maxTtl}): pre-approval never grants more than an approver could` });
    });
  });
}
