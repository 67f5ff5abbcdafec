import type { Role } from '../domain/common';
import type { Policy } from '../domain/policy';
import type { OidcSignIn } from '../domain/policy-identity';

/**
 * What a signed-in person is, from their IdP groups and the policy's group mapping: the IdP is
 * the truth for teams, approver groups and roles, so separation of duties ("not from the
 * requester's team") rests on the organisation's directory, not a hand-kept list.
 */
export interface Membership {
  team: string | null;
  approverGroups: string[];
  roles: Role[];
}

/** The groups claim as a list: an array of strings, or a single string (one group). Anything else is not a groups claim. */
export function groupsFromClaim(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((g) => typeof g === 'string')) return value as string[];
  return undefined;
}

/** Membership from the person's IdP groups, or why they may not sign in. */
export function membershipFromGroups(oidc: OidcSignIn, groups: readonly string[]): { membership: Membership } | { refusal: string } {
  const mapped = groups.filter((g) => Object.prototype.hasOwnProperty.call(oidc.groups, g));
  if (mapped.length === 0 && !oidc.allowUnmappedUsers) {
    return { refusal: `none of your IdP groups (${groups.length > 0 ? groups.join(', ') : 'none'}) is mapped in the policy (identity.oidc.groups); ask an admin to map one` };
  }
  const teams = new Map<string, string>();
  const approverGroups = new Set<string>();
  const roles = new Set<Role>(oidc.defaultRoles);
  for (const group of mapped) {
    const grant = oidc.groups[group]!;
    if (grant.team !== undefined && !teams.has(grant.team)) teams.set(grant.team, group);
    grant.approverGroups.forEach((g) => approverGroups.add(g));
    grant.roles.forEach((r) => roles.add(r));
  }
  if (teams.size > 1) {
    const list = [...teams].map(([team, group]) => `${group} → ${team}`).join(', ');
    return { refusal: `your IdP groups map to more than one team (${list}); a principal belongs to one team: ask an admin to fix the groups or the mapping` };
  }
  if (approverGroups.size > 0) roles.add('approver');
  return { membership: { team: [...teams.keys()][0] ?? null, approverGroups: [...approverGroups].sort(), roles: [...roles].sort() } };
}

/**
 * The policy as the rules see it once these principals' IdP memberships are applied: each is
 * removed from every team and approver group the YAML lists them in and added to the ones their
 * groups grant. The YAML still holds everyone who does not sign in through the IdP.
 */
export function withMemberships(policy: Policy, members: ReadonlyMap<string, Membership>): Policy {
  if (members.size === 0) return policy;
  const teams: Policy['teams'] = {};
  for (const [name, team] of Object.entries(policy.teams)) teams[name] = { ...team, members: team.members.filter((m) => !members.has(m)) };
  const approvers: Policy['approvers'] = {};
  for (const [group, list] of Object.entries(policy.approvers)) approvers[group] = list.filter((m) => !members.has(m));
  for (const [principal, membership] of members) {
    if (membership.team !== null && teams[membership.team]) teams[membership.team]!.members.push(principal);
    for (const group of membership.approverGroups) approvers[group]?.push(principal);
  }
  return { ...policy, teams, approvers };
}
