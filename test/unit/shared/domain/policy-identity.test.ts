import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PolicySchema } from '../../../../shared/domain/policy';
import { subjectDerivations } from '../../../../shared/domain/policy-identity';
import { defaultIdentity, identityPolicy, identityPolicyInput } from '../identity/identity-policy-fixture';

/** The issues PolicySchema reports, as "dotted.path: message". */
function issues(identity: Record<string, unknown>, tweak: (input: Record<string, unknown>) => void = () => {}): string[] {
  const input = identityPolicyInput(identity);
  tweak(input);
  const result = PolicySchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

function withOidc(patch: Record<string, unknown>): Record<string, unknown> {
  const identity = defaultIdentity();
  return { ...identity, oidc: { ...(identity.oidc as object), ...patch } };
}

function withWorkloads(patch: (w: { issuers: Record<string, unknown>[]; principals: Record<string, unknown>[] }) => void): Record<string, unknown> {
  const identity = defaultIdentity();
  const workloads = structuredClone(identity.workloads) as { issuers: Record<string, unknown>[]; principals: Record<string, unknown>[] };
  patch(workloads);
  return { ...identity, workloads };
}

describe('policy identity section', () => {
  test('a valid section parses with defaults (scopes, claims, requester role, 1h sessions); teams and approver groups filled by IdP groups may be empty', () => {
    const policy = identityPolicy();
    const oidc = policy.identity!.oidc!;
    assert.deepEqual(oidc.scopes, ['openid', 'profile', 'email', 'groups', 'offline_access']);
    assert.equal(oidc.principalClaim, 'email');
    assert.equal(oidc.groupsClaim, 'groups');
    assert.deepEqual(oidc.defaultRoles, ['requester']);
    assert.equal(oidc.sessionTtl, '1h');
    assert.equal(oidc.allowUnmappedUsers, false);
    assert.deepEqual(policy.teams.platform!.members, []);
  });

  test('an empty team or approver group that no IdP group fills is still refused', () => {
    assert.deepEqual(issues(withOidc({ groups: { 'eng-payments': { team: 'payments' } } })), [
      'teams.platform.members: a team needs at least one member (or an IdP group mapped to it in identity.oidc.groups)',
      'approvers.leads: an approver group needs at least one member (or an IdP group mapped to it in identity.oidc.groups)',
    ]);
  });

  test('issuers must be https (http only on loopback) without query or fragment', () => {
    assert.match(issues(withOidc({ issuer: 'http://login.example.com' })).join(), /identity\.oidc\.issuer: must be the issuer URL/);
    assert.match(issues(withOidc({ issuer: 'https://login.example.com/?tenant=x' })).join(), /identity\.oidc\.issuer/);
    assert.deepEqual(issues(withOidc({ issuer: 'http://127.0.0.1:5556/dex' })), []);
  });

  test('group mappings must name existing teams and approver groups and grant something', () => {
    const empty = issues(withOidc({ groups: { ...(defaultIdentity().oidc as { groups: object }).groups, y: {} } }));
    assert.deepEqual(empty, ['identity.oidc.groups.y: a group mapping grants a team, approver groups or roles']);
    const refs = issues(withOidc({ groups: { 'eng-payments': { team: 'payments' }, 'eng-platform': { team: 'platfrom' }, x: { approverGroups: ['leads', 'nope'] } } }));
    assert.ok(refs.includes('identity.oidc.groups.eng-platform.team: unknown team "platfrom" (teams: payments, platform)'), refs.join('\n'));
    assert.ok(refs.includes('identity.oidc.groups.x.approverGroups.1: unknown approver group "nope"'), refs.join('\n'));
  });

  test('a principal rule must pin who runs the job with a literal prefix', () => {
    const open = issues(withWorkloads((w) => (w.principals[0]!.claims = { ref: 'refs/heads/main' })));
    assert.match(open.join('\n'), /identity\.workloads\.principals\.0\.claims: must match one of repository, repository_id, repository_owner, repository_owner_id/);
    const wildcard = issues(withWorkloads((w) => (w.principals[0]!.claims = { repository: '*/payments-api' })));
    assert.match(wildcard.join('\n'), /principals\.0\.claims: must match one of/);
    const listed = issues(withWorkloads((w) => (w.principals[0]!.claims = { repository: ['acme/a', '**'] })));
    assert.match(listed.join('\n'), /principals\.0\.claims: must match one of/);
  });

  test('unknown issuer ids and gates, derived keys in subjectKeys, and a workload audience equal to the sign-in client are refused', () => {
    const unknown = issues(withWorkloads((w) => {
      w.principals[0]!.issuer = 'jenkins';
      w.principals[1]!.gates = ['nope'];
      w.principals[1]!.subjectKeys = ['repo'];
    }));
    assert.ok(unknown.includes('identity.workloads.principals.0.issuer: unknown workload issuer "jenkins" (issuers: github, gitlab)'), unknown.join('\n'));
    assert.ok(unknown.includes('identity.workloads.principals.1.gates.0: unknown gate "nope"'), unknown.join('\n'));
    assert.ok(unknown.includes('identity.workloads.principals.1.subjectKeys.0: "repo" is derived from the token\'s claims; a job cannot set it'), unknown.join('\n'));
    const same = issues(withWorkloads((w) => Object.assign(w.issuers[0]!, { issuer: 'https://login.example.com/oauth2/default', audience: 'breakglass-cli' })));
    assert.match(same.join('\n'), /identity\.workloads\.issuers\.0\.audience: must differ from identity\.oidc\.clientId/);
  });

  test('derivation patterns must be regular expressions with exactly one capture group; custom issuers must derive something', () => {
    const bad = issues(withWorkloads((w) => {
      w.issuers[0]!.subject = { repo: { claim: 'repository', pattern: '^acme/.+$' }, team: { claim: 'repository_owner', pattern: '([' } };
    }));
    assert.ok(bad.includes('identity.workloads.issuers.0.subject.repo.pattern: needs exactly one capture group (has 0)'), bad.join('\n'));
    assert.ok(bad.some((i) => i.startsWith('identity.workloads.issuers.0.subject.team.pattern: not a regular expression')), bad.join('\n'));
    const custom = issues(withWorkloads((w) => (w.issuers[1]!.format = 'custom')));
    assert.match(custom.join('\n'), /issuers\.1\.subject: needs at least one subject attribute/);
  });

  test('an issuer\'s subject adds to and removes from its format\'s defaults', () => {
    const policy = identityPolicy();
    const [github, gitlab] = policy.identity!.workloads!.issuers;
    assert.deepEqual(Object.keys(subjectDerivations(github!)), ['repo', 'branch', 'tag', 'environment']);
    assert.deepEqual(Object.keys(subjectDerivations(gitlab!)), ['repo', 'branch', 'tag']);
    assert.deepEqual(subjectDerivations({ format: 'github-actions', subject: { repo: { claim: 'repository', pattern: '^acme/(.+)$' } } }).repo, { claim: 'repository', pattern: '^acme/(.+)$' });
  });

  test('unknown keys in the section are refused (a typo cannot weaken it)', () => {
    assert.match(issues(withOidc({ groupClaim: 'roles' })).join(), /identity\.oidc/);
  });
});
