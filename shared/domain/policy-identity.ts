import { z } from 'zod';
import { PrincipalNameSchema, RoleSchema, ScopeKeySchema, SlugSchema } from './common';
import { TtlSchema } from './ttl';

/**
 * The policy's `identity` section: who may sign in through the organisation's OpenID Connect
 * provider and what their IdP groups make them (teams, approver groups, roles), and which CI
 * workload identities (GitHub Actions, GitLab CI, any OIDC issuer) gates may present instead of
 * a stored token, with the rules that turn a token's claims into a gate principal and a subject.
 * Admin-minted tokens keep working next to both.
 */

/**
 * https with a host, optional port and path; plain http only on a loopback host (a local test
 * IdP). No user info, query or fragment: an issuer is compared byte for byte with `iss`.
 */
const ISSUER_URL = /^(?:https:\/\/[A-Za-z0-9.-]+|http:\/\/(?:127\.0\.0\.1|localhost|\[::1\]))(?::[0-9]{1,5})?(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$/;

/** An OIDC issuer identifier, written exactly as the IdP publishes it. */
export const IssuerUrlSchema = z
  .string()
  .max(512)
  .regex(ISSUER_URL, 'must be the issuer URL exactly as the IdP publishes it: https (http only on 127.0.0.1/localhost), no query or fragment');

/** A claim name in an ID token (`email`, `groups`, `repository`, `https://example.com/claims/team`...). */
export const ClaimNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$/, 'must be a claim name such as email, groups or repository');

/** What membership of one IdP group grants. */
export const GroupGrantSchema = z
  .strictObject({
    /** The team (a key of `teams`) whose members this group's people are. A person maps to at most one team. */
    team: SlugSchema.optional(),
    /** Approver groups (keys of `approvers`); holding one also grants the `approver` role. */
    approverGroups: z.array(SlugSchema).default([]),
    /** Extra roles (e.g. auditor, admin) for members of the group. */
    roles: z.array(RoleSchema).default([]),
  })
  .refine((g) => g.team !== undefined || g.approverGroups.length > 0 || g.roles.length > 0, 'a group mapping grants a team, approver groups or roles');
export type GroupGrant = z.infer<typeof GroupGrantSchema>;

/** Sign-in with the organisation's OpenID Connect provider (Okta, Entra ID, Google, Keycloak, Dex...). */
export const OidcSignInSchema = z.strictObject({
  issuer: IssuerUrlSchema,
  /** The public (native) client registered at the IdP for the CLI and the console; ID tokens must carry it as audience. */
  clientId: z.string().min(1).max(256),
  /** Scopes the clients ask for. `offline_access` lets them refresh without a new browser sign-in. */
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/, 'must be a scope token')).min(1).default(['openid', 'profile', 'email', 'groups', 'offline_access']),
  /** The claim whose value names the principal (e.g. email, preferred_username, upn). */
  principalClaim: ClaimNameSchema.default('email'),
  /** The claim listing the person's groups (Okta/Keycloak/Dex: groups; Entra ID: groups or roles). */
  groupsClaim: ClaimNameSchema.default('groups'),
  /** IdP group name → what it grants. Groups not listed grant nothing. */
  groups: z.record(z.string().min(1).max(256), GroupGrantSchema).default({}),
  /** Roles every signed-in person holds. */
  defaultRoles: z.array(RoleSchema).default(['requester']),
  /** Let people in none of the mapped groups sign in (with defaultRoles only). */
  allowUnmappedUsers: z.boolean().default(false),
  /** Lifetime of a store session; the CLI and console renew it from the IdP, so group changes apply within this time. */
  sessionTtl: TtlSchema.default('1h'),
  /** Oldest ID token (by `iat`) the store exchanges for a session. */
  maxIdTokenAge: TtlSchema.default('10m'),
});
export type OidcSignIn = z.infer<typeof OidcSignInSchema>;

/** How one subject attribute is read from a workload token's claims. */
export const ClaimDerivationSchema = z
  .strictObject({
    claim: ClaimNameSchema,
    /** A regular expression with exactly one capture group: the attribute is the capture; no match, no attribute. */
    pattern: z.string().min(1).max(256).optional(),
    /** Other claims that must have these exact values for the attribute to be derived (e.g. ref_type: branch). */
    when: z.record(ClaimNameSchema, z.string()).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.pattern === undefined) return;
    let groups: number;
    try {
      groups = (new RegExp(`${d.pattern}|`).exec('')?.length ?? 1) - 1;
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: `not a regular expression: ${(error as Error).message}` });
      return;
    }
    if (groups !== 1) ctx.addIssue({ code: 'custom', path: ['pattern'], message: `needs exactly one capture group (has ${groups})` });
  });
export type ClaimDerivation = z.infer<typeof ClaimDerivationSchema>;

/** The claim layouts the store knows: each brings a default subject derivation (shared/identity/workload-subject.ts). */
export const WorkloadFormatSchema = z.enum(['github-actions', 'gitlab-ci', 'custom']);
export type WorkloadFormat = z.infer<typeof WorkloadFormatSchema>;

/** A CI system whose OIDC ID tokens gates may present. */
export const WorkloadIssuerSchema = z.strictObject({
  id: SlugSchema,
  issuer: IssuerUrlSchema,
  /** The audience jobs must request (GitHub: `core.getIDToken(aud)` / `&audience=`; GitLab: `id_tokens: X: aud:`). */
  audience: z.string().min(1).max(512),
  format: WorkloadFormatSchema,
  /**
   * Subject attributes derived from claims, on top of the format's defaults (a `null` drops a
   * default). A derived attribute is the token's word: a job cannot set it to anything else.
   */
  subject: z.record(ScopeKeySchema, ClaimDerivationSchema.nullable()).default({}),
});
export type WorkloadIssuer = z.infer<typeof WorkloadIssuerSchema>;

/** One claim pattern: `*` matches within a path segment (no `/`), `**` across segments; a list matches any of its patterns. */
export const ClaimPatternSchema = z.union([z.string().min(1).max(512), z.array(z.string().min(1).max(512)).min(1)]);

/** Workloads whose tokens match `claims` act as gate principal `principal`. */
export const WorkloadPrincipalSchema = z.strictObject({
  principal: PrincipalNameSchema,
  issuer: SlugSchema,
  /** Claim → pattern; every listed claim must match. Must pin who runs the job (repository, project...). */
  claims: z.record(ClaimNameSchema, ClaimPatternSchema).refine((c) => Object.keys(c).length > 0, 'list at least one claim to match'),
  /** Gates these workloads may check (default: every gate). */
  gates: z.array(SlugSchema).optional(),
  /** Subject attributes the job may add itself (not derived from claims), e.g. image. */
  subjectKeys: z.array(ScopeKeySchema).default([]),
});
export type WorkloadPrincipal = z.infer<typeof WorkloadPrincipalSchema>;

export const WorkloadIdentitySchema = z.strictObject({
  issuers: z.array(WorkloadIssuerSchema).min(1, 'list at least one CI issuer'),
  principals: z.array(WorkloadPrincipalSchema).min(1, 'list at least one workload principal'),
});
export type WorkloadIdentity = z.infer<typeof WorkloadIdentitySchema>;

export const IdentityPolicySchema = z.strictObject({
  oidc: OidcSignInSchema.optional(),
  workloads: WorkloadIdentitySchema.optional(),
});
export type IdentityPolicy = z.infer<typeof IdentityPolicySchema>;

/** Claims that say who runs a job, per format: a principal rule must pin one of them with a literal prefix. */
export const WORKLOAD_OWNER_CLAIMS: Record<WorkloadFormat, readonly string[]> = {
  'github-actions': ['repository', 'repository_id', 'repository_owner', 'repository_owner_id'],
  'gitlab-ci': ['project_path', 'project_id', 'namespace_path', 'namespace_id'],
  custom: ['sub'],
};

/**
 * Each format's default subject derivation. GitHub: `ref` is refs/heads/<branch> or
 * refs/tags/<tag>; `repository` is owner/name. GitLab: `ref` is the bare name and `ref_type`
 * says branch or tag; `project_path` is group[/subgroup]/project. An issuer's `subject` adds to
 * or replaces these (e.g. `repo: { claim: repository, pattern: "^acme/(.+)$" }` for bare names).
 */
export const WORKLOAD_FORMAT_SUBJECTS: Record<WorkloadFormat, Readonly<Record<string, ClaimDerivation>>> = {
  'github-actions': {
    repo: { claim: 'repository' },
    branch: { claim: 'ref', pattern: '^refs/heads/(.+)$' },
    tag: { claim: 'ref', pattern: '^refs/tags/(.+)$' },
    environment: { claim: 'environment' },
  },
  'gitlab-ci': {
    repo: { claim: 'project_path' },
    branch: { claim: 'ref', when: { ref_type: 'branch' } },
    tag: { claim: 'ref', when: { ref_type: 'tag' } },
    environment: { claim: 'environment' },
  },
  custom: {},
};

/** The issuer's subject derivation: its format's defaults with the issuer's own entries applied. */
export function subjectDerivations(issuer: Pick<WorkloadIssuer, 'format' | 'subject'>): Record<string, ClaimDerivation> {
  const out: Record<string, ClaimDerivation> = { ...WORKLOAD_FORMAT_SUBJECTS[issuer.format] };
  for (const [key, derivation] of Object.entries(issuer.subject)) {
    if (derivation === null) delete out[key];
    else out[key] = derivation;
  }
  return out;
}

/** What the cross-field checks need from the whole policy. */
interface PolicyRefs {
  teams: Record<string, unknown>;
  approvers: Record<string, unknown>;
  gates: readonly { id: string }[];
  identity?: IdentityPolicy;
}

/**
 * Cross-references of the identity section (called from PolicySchema's superRefine): mapped
 * teams, approver groups, gates and issuer ids exist; a workload issuer shared with sign-in
 * uses another audience (so a person's ID token is never a gate's); every principal rule pins
 * who runs the job.
 */
export function checkIdentityReferences(policy: PolicyRefs, ctx: z.RefinementCtx): void {
  const identity = policy.identity;
  if (!identity) return;
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path: ['identity', ...path], message });
  for (const [group, grant] of Object.entries(identity.oidc?.groups ?? {})) {
    if (grant.team !== undefined && !(grant.team in policy.teams)) issue(['oidc', 'groups', group, 'team'], `unknown team "${grant.team}" (teams: ${Object.keys(policy.teams).join(', ')})`);
    grant.approverGroups.forEach((g, i) => {
      if (!(g in policy.approvers)) issue(['oidc', 'groups', group, 'approverGroups', i], `unknown approver group "${g}"`);
    });
  }
  const workloads = identity.workloads;
  if (!workloads) return;
  const issuers = new Map<string, WorkloadIssuer>();
  workloads.issuers.forEach((issuer, i) => {
    if (issuers.has(issuer.id)) issue(['workloads', 'issuers', i, 'id'], `duplicate issuer id "${issuer.id}"`);
    if ([...issuers.values()].some((other) => other.issuer === issuer.issuer && other.audience === issuer.audience)) {
      issue(['workloads', 'issuers', i, 'issuer'], `${issuer.issuer} with audience ${issuer.audience} is listed twice`);
    }
    issuers.set(issuer.id, issuer);
    if (identity.oidc && identity.oidc.issuer === issuer.issuer && identity.oidc.clientId === issuer.audience) {
      issue(['workloads', 'issuers', i, 'audience'], 'must differ from identity.oidc.clientId: otherwise a person\'s ID token would authenticate as a gate');
    }
    if (Object.keys(subjectDerivations(issuer)).length === 0) {
      issue(['workloads', 'issuers', i, 'subject'], 'needs at least one subject attribute derived from the token\'s claims');
    }
  });
  const gateIds = new Set(policy.gates.map((g) => g.id));
  workloads.principals.forEach((rule, i) => {
    const issuer = issuers.get(rule.issuer);
    if (!issuer) {
      issue(['workloads', 'principals', i, 'issuer'], `unknown workload issuer "${rule.issuer}" (issuers: ${[...issuers.keys()].join(', ')})`);
      return;
    }
    rule.gates?.forEach((gate, j) => {
      if (!gateIds.has(gate)) issue(['workloads', 'principals', i, 'gates', j], `unknown gate "${gate}"`);
    });
    const owners = WORKLOAD_OWNER_CLAIMS[issuer.format];
    const pinned = owners.some((claim) => {
      const pattern = rule.claims[claim];
      return pattern !== undefined && (Array.isArray(pattern) ? pattern : [pattern]).every((p) => !p.startsWith('*'));
    });
    if (!pinned) {
      issue(['workloads', 'principals', i, 'claims'], `must match one of ${owners.join(', ')} with a pattern that starts with a literal (e.g. acme/*): otherwise every ${issuer.format} job could act as ${rule.principal}`);
    }
    const derived = subjectDerivations(issuer);
    rule.subjectKeys.forEach((key, j) => {
      if (key in derived) issue(['workloads', 'principals', i, 'subjectKeys', j], `"${key}" is derived from the token's claims; a job cannot set it`);
    });
  });
}
