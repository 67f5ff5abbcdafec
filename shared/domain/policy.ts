import { z } from 'zod';
import { GateKindSchema, MAX_SCOPE_ATTRIBUTES, PrincipalNameSchema, ScopeKeySchema, ScopeSchema, SlugSchema } from './common';
import { checkIdentityReferences, IdentityPolicySchema } from './policy-identity';
import { DEFAULT_TTL_CHOICES, TtlSchema } from './ttl';
import { DigestPolicySchema } from './policy-digest';
import { EmergencyPolicySchema } from './policy-emergency';
import { IncidentsPolicySchema, checkIncidentsPolicy } from './policy-incidents';
import { WitnessesPolicySchema } from './policy-witnesses';

/**
 * The policy file (YAML), validated with these schemas. Unknown keys are errors so that a
 * typo (`aprovals: 2`) fails loudly instead of silently weakening a tier.
 */
/** At most this many extra approvers for an over-budget team. */
export const MAX_OVER_BUDGET_EXTRA_APPROVERS = 2;

export const TierSchema = z.strictObject({
  /** Distinct approvers needed before the bypass activates. */
  approvals: z.union([z.literal(1), z.literal(2)]),
  /** Approver groups (keys of `approvers`) whose members may decide. */
  approverGroups: z.array(SlugSchema).min(1, 'a tier needs at least one approver group'),
  /** Whether an approver may be on the requester's own team. */
  allowSameTeam: z.boolean().default(true),
  /** Longest bypass this tier grants; must be one of ttlChoices. */
  maxTtl: TtlSchema,
  /** Only keys enrolled as hardware-backed (PKCS#11 token) may approve. */
  hardwareKeyRequired: z.boolean().default(false),
  /**
   * Only keys whose hardware origin the store verified may approve (an attestation chaining to
   * a root in `attestation.roots`); a key enrolled with `--hardware` alone is `claimed` and does
   * not count.
   */
  attestationRequired: z.boolean().default(false),
  /** Principals told about every request on this tier (e.g. the CISO). */
  notify: z.array(PrincipalNameSchema).default([]),
  /**
   * Approvals needed on top of `approvals` for a request filed while its team has used more
   * bypasses this calendar quarter than its `bypassBudget` (shared/policy/budget.ts).
   */
  overBudgetExtraApprovers: z.number().int().min(0).max(MAX_OVER_BUDGET_EXTRA_APPROVERS).default(0),
});
export type Tier = z.infer<typeof TierSchema>;

/** Longest scope value pattern (a regular expression's source) a policy may declare. */
const MAX_SCOPE_PATTERN_LENGTH = 256;

/** A pattern a scope value must match in full (the source of a JavaScript regular expression, unanchored in the file). */
export const ScopePatternSchema = z
  .string()
  .min(1)
  .max(MAX_SCOPE_PATTERN_LENGTH)
  .superRefine((source, ctx) => {
    try {
      new RegExp(source, 'u');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}` });
    }
  });

export const GateSchema = z.strictObject({
  id: SlugSchema,
  /** `slow` gates (long suites) may be bypassed under pressure; `safety` gates (signing, secrets) are marked loudly. */
  kind: GateKindSchema,
  tier: SlugSchema,
  /** `never`: no request, standing scope, pre-approval or emergency credential opens this gate. */
  bypass: z.literal('never').optional(),
  /**
   * The attribute keys a bypass scope must name, exactly (e.g. [repo, branch]); a check matches
   * only on these keys. Required for every gate that can be bypassed (checked on load).
   */
  scopeKeys: z.array(ScopeKeySchema).min(1).max(MAX_SCOPE_ATTRIBUTES).optional(),
  /** Per scope key, a pattern its value must match in full (e.g. digest: 'sha256:[0-9a-f]{64}'). */
  scopePatterns: z.record(ScopeKeySchema, ScopePatternSchema).optional(),
  /**
   * Whether a checked subject may carry attributes beyond scopeKeys (they are then ignored). With
   * false, a subject with another attribute is blocked, naming it.
   */
  allowExtraSubjectKeys: z.boolean().default(true),
  description: z.string().max(500).optional(),
});
export type Gate = z.infer<typeof GateSchema>;

export const TeamSchema = z.strictObject({
  /** Listed members; may be empty when an IdP group fills the team (identity.oidc.groups). */
  members: z.array(PrincipalNameSchema).default([]),
  /** Bypasses per calendar quarter before the team is flagged for review. */
  bypassBudget: z.number().int().min(0).default(10),
});
export type Team = z.infer<typeof TeamSchema>;

/**
 * A pre-authorized scope: the request is still filed and recorded, but it activates on filing
 * (approved in advance by the policy's authors) and may run for a longer window.
 */
export const StandingScopeSchema = z.strictObject({
  id: SlugSchema,
  gate: SlugSchema,
  team: SlugSchema,
  scope: ScopeSchema,
  maxTtl: TtlSchema,
  /** Who approved this standing scope when the policy was written (recorded with every use). */
  approvedBy: z.array(PrincipalNameSchema).min(1),
  /** Last day (UTC, inclusive) on which the standing approval may be used. */
  validUntil: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2027-03-31'),
  reason: z.string().min(1).max(500),
});
export type StandingScope = z.infer<typeof StandingScopeSchema>;

export const WebhookSchema = z.strictObject({
  id: SlugSchema,
  url: z.url({ protocol: /^https?$/ }),
  format: z.enum(['json', 'slack']).default('json'),
  /** Name of the environment variable holding the HMAC secret (secrets never live in the policy). */
  secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
  /**
   * What this webhook receives. Emergency credential uses and refusals go to every webhook
   * whatever it lists (a critical alert is never filtered out); `weekly_digest` is the digest;
   * `over_budget` goes out once per team and quarter when the team passes its bypassBudget.
   */
  events: z.array(z.enum(['bypass_activated', 'critical_request', 'deviance_finding', 'decision', 'weekly_digest', 'over_budget'])).min(1),
});
export type Webhook = z.infer<typeof WebhookSchema>;

/**
 * A root an attestation must chain to: a token vendor's attestation CA (Yubico's PIV root, say);
 * for `tpm-ek` a TPM manufacturer's root that issues endorsement key certificates (the store
 * then proves the attestation key lives in that TPM by credential activation: the stronger TPM
 * option); for `tpm` the CA that issues attestation key certificates after checking the TPM's
 * endorsement key (an enterprise attestation CA: the store trusts that CA's word, the weaker
 * option, kept for existing policies).
 */
export const AttestationRootSchema = z.strictObject({
  id: SlugSchema,
  kind: z.enum(['piv', 'tpm', 'tpm-ek']),
  /** The root certificate, PEM. */
  certificate: z.string().max(8000).includes('BEGIN CERTIFICATE', { message: 'must be a PEM certificate (BEGIN CERTIFICATE)' }),
});
export type AttestationRoot = z.infer<typeof AttestationRootSchema>;

export const PolicySchema = z
  .strictObject({
    version: z.literal(1),
    ttlChoices: z.array(TtlSchema).min(1).default([...DEFAULT_TTL_CHOICES]),
    /** A pending request with no decision for this long lapses. */
    decisionWindow: TtlSchema.default('24h'),
    /** https hosts the console may open incident links on. */
    incidentLinkHosts: z.array(z.string().regex(/^[a-z0-9.-]+$/)).default([]),
    tiers: z.record(SlugSchema, TierSchema),
    gates: z.array(GateSchema).min(1, 'a policy needs at least one gate'),
    teams: z.record(SlugSchema, TeamSchema),
    /** Approver groups: listed principals; a group may be empty when an IdP group fills it (identity.oidc.groups). */
    approvers: z.record(SlugSchema, z.array(PrincipalNameSchema)),
    standingScopes: z.array(StandingScopeSchema).default([]),
    webhooks: z.array(WebhookSchema).default([]),
    /** Sign-in through the organisation's OIDC provider and CI workload identities (shared/domain/policy-identity.ts). */
    identity: IdentityPolicySchema.optional(),
    /** Sealed emergency credentials (policy-emergency.ts). */
    emergency: EmergencyPolicySchema.default({ notify: [], reviewSignoffs: 2 }),
    /** On-call pre-approval from incident systems (policy-incidents.ts). */
    incidents: IncidentsPolicySchema.default({ sources: [], responders: [], rules: [] }),
    /** The weekly digest for leadership (policy-digest.ts); no digest when absent. */
    digest: DigestPolicySchema.optional(),
    /** Roots that key attestations must chain to (tiers with attestationRequired need one). */
    attestation: z.strictObject({ roots: z.array(AttestationRootSchema).default([]) }).default({ roots: [] }),
    /** Who cosigns the log's checkpoints and how many must (policy-witnesses.ts); no witnesses when absent. */
    witnesses: WitnessesPolicySchema.optional(),
  })
  .superRefine((policy, ctx) => {
    const gateIds = new Set<string>();
    policy.gates.forEach((gate, i) => {
      if (gateIds.has(gate.id)) ctx.addIssue({ code: 'custom', path: ['gates', i, 'id'], message: `duplicate gate id "${gate.id}"` });
      gateIds.add(gate.id);
      if (!policy.tiers[gate.tier]) ctx.addIssue({ code: 'custom', path: ['gates', i, 'tier'], message: `unknown tier "${gate.tier}" (tiers: ${Object.keys(policy.tiers).join(', ')})` });
    });
    for (const [name, tier] of Object.entries(policy.tiers)) {
      if (!policy.ttlChoices.includes(tier.maxTtl)) ctx.addIssue({ code: 'custom', path: ['tiers', name, 'maxTtl'], message: `maxTtl ${tier.maxTtl} is not one of ttlChoices (${policy.ttlChoices.join(', ')})` });
      tier.approverGroups.forEach((group, i) => {
        if (!policy.approvers[group]) ctx.addIssue({ code: 'custom', path: ['tiers', name, 'approverGroups', i], message: `unknown approver group "${group}"` });
      });
    }
    const idpGrants = Object.values(policy.identity?.oidc?.groups ?? {});
    for (const [team, def] of Object.entries(policy.teams)) {
      if (def.members.length === 0 && !idpGrants.some((g) => g.team === team)) ctx.addIssue({ code: 'custom', path: ['teams', team, 'members'], message: 'a team needs at least one member (or an IdP group mapped to it in identity.oidc.groups)' });
    }
    for (const [group, members] of Object.entries(policy.approvers)) {
      if (members.length === 0 && !idpGrants.some((g) => g.approverGroups.includes(group))) ctx.addIssue({ code: 'custom', path: ['approvers', group], message: 'an approver group needs at least one member (or an IdP group mapped to it in identity.oidc.groups)' });
    }
    checkIdentityReferences(policy, ctx);
    const teamOf = new Map<string, string>();
    for (const [team, def] of Object.entries(policy.teams)) {
      def.members.forEach((member, i) => {
        const other = teamOf.get(member);
        if (other) ctx.addIssue({ code: 'custom', path: ['teams', team, 'members', i], message: `${member} is already a member of team "${other}": a principal belongs to one team` });
        teamOf.set(member, team);
      });
    }
    policy.standingScopes.forEach((standing, i) => {
      if (!gateIds.has(standing.gate)) ctx.addIssue({ code: 'custom', path: ['standingScopes', i, 'gate'], message: `unknown gate "${standing.gate}"` });
      if (!policy.teams[standing.team]) ctx.addIssue({ code: 'custom', path: ['standingScopes', i, 'team'], message: `unknown team "${standing.team}"` });
      if (!policy.ttlChoices.includes(standing.maxTtl)) ctx.addIssue({ code: 'custom', path: ['standingScopes', i, 'maxTtl'], message: `maxTtl ${standing.maxTtl} is not one of ttlChoices` });
    });
    checkIncidentsPolicy(policy, (issue) => ctx.addIssue({ code: 'custom', ...issue }));
  });
export type Policy = z.infer<typeof PolicySchema>;
