import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deriveSubject, globMatches, matchWorkloadPrincipal, reconcileSubject } from '../../../../shared/identity/workload-subject';
import { identityPolicy } from './identity-policy-fixture';

const workloads = identityPolicy().identity!.workloads!;
const [github, gitlab] = workloads.issuers as [typeof workloads.issuers[0], typeof workloads.issuers[0]];

const githubClaims = (over: Record<string, unknown> = {}) => ({
  repository: 'acme/payments-api', repository_owner: 'acme', ref: 'refs/heads/main', ref_type: 'branch', sha: 'a'.repeat(40), run_id: '123', ...over,
});
const gitlabClaims = (over: Record<string, unknown> = {}) => ({
  project_path: 'acme/platform/deployer', namespace_path: 'acme/platform', ref: 'main', ref_type: 'branch', ref_protected: 'true', environment: 'production', ...over,
});

describe('claim patterns', () => {
  test('* stays within a path segment, ** crosses them, the rest is literal', () => {
    assert.equal(globMatches('acme/*', 'acme/payments-api'), true);
    assert.equal(globMatches('acme/*', 'acme/platform/deployer'), false);
    assert.equal(globMatches('acme/**', 'acme/platform/deployer'), true);
    assert.equal(globMatches('acme/payments-*', 'acme/payments-api'), true);
    assert.equal(globMatches('acme/payments-*', 'acmex/payments-api'), false);
    assert.equal(globMatches('acme.io/x', 'acmexio/x'), false, 'a dot is literal');
    assert.equal(globMatches('refs/heads/main', 'refs/heads/main2'), false, 'the whole value must match');
  });
});

describe('workload principal rules', () => {
  test('the first rule of the token\'s issuer whose claims all match', () => {
    assert.equal(matchWorkloadPrincipal(workloads, 'github', githubClaims())?.principal, 'ci-payments');
    assert.equal(matchWorkloadPrincipal(workloads, 'github', githubClaims({ repository: 'acme/website' })), undefined);
    assert.equal(matchWorkloadPrincipal(workloads, 'gitlab', githubClaims()), undefined, 'rules of another issuer never match');
    assert.equal(matchWorkloadPrincipal(workloads, 'gitlab', gitlabClaims())?.principal, 'ci-gitlab');
    assert.equal(matchWorkloadPrincipal(workloads, 'gitlab', gitlabClaims({ ref_protected: 'false' })), undefined);
    assert.equal(matchWorkloadPrincipal(workloads, 'gitlab', gitlabClaims({ namespace_path: undefined })), undefined, 'a missing claim never matches');
  });
});

describe('subject derivation', () => {
  test('GitHub: repo from repository, branch or tag from ref, environment when present', () => {
    assert.deepEqual(deriveSubject(github, githubClaims()).subject, { repo: 'acme/payments-api', branch: 'main' });
    assert.deepEqual(deriveSubject(github, githubClaims({ ref: 'refs/tags/v1.2.0', ref_type: 'tag', environment: 'production' })).subject, { repo: 'acme/payments-api', tag: 'v1.2.0', environment: 'production' });
    assert.deepEqual(deriveSubject(github, githubClaims({ ref: 'refs/pull/7/merge' })).subject, { repo: 'acme/payments-api' });
    assert.deepEqual([...deriveSubject(github, githubClaims()).ownedKeys], ['repo', 'branch', 'tag', 'environment']);
  });

  test('GitLab: repo from project_path, branch or tag by ref_type; a dropped default is not derived', () => {
    assert.deepEqual(deriveSubject(gitlab, gitlabClaims()).subject, { repo: 'acme/platform/deployer', branch: 'main' });
    assert.deepEqual(deriveSubject(gitlab, gitlabClaims({ ref: 'v2', ref_type: 'tag' })).subject, { repo: 'acme/platform/deployer', tag: 'v2' });
  });

  test('a pattern capture (bare repository names) and values a scope cannot hold', () => {
    const bare = { format: 'github-actions' as const, subject: { repo: { claim: 'repository', pattern: '^acme/(.+)$' } } };
    assert.deepEqual(deriveSubject(bare, githubClaims()).subject, { repo: 'payments-api', branch: 'main' });
    assert.deepEqual(deriveSubject(bare, githubClaims({ repository: 'evil/payments-api' })).subject, { branch: 'main' });
    assert.deepEqual(deriveSubject(github, githubClaims({ environment: 'prod eu' })).subject, { repo: 'acme/payments-api', branch: 'main' }, 'spaces cannot be in a scope value');
  });
});

describe('reconciling the subject a job sends with the token', () => {
  const derived = deriveSubject(github, githubClaims());
  test('derived attributes stand; the same values may be repeated; allowed extra keys are added', () => {
    assert.deepEqual(reconcileSubject(derived, undefined, []), { subject: { repo: 'acme/payments-api', branch: 'main' } });
    assert.deepEqual(reconcileSubject(derived, { repo: 'acme/payments-api', image: 'sha256-abc' }, ['image']), { subject: { repo: 'acme/payments-api', branch: 'main', image: 'sha256-abc' } });
  });
  test('a job in repository a cannot claim repository b, a branch it is not on, an owned attribute the token lacks, or a key the policy does not allow', () => {
    assert.deepEqual(reconcileSubject(derived, { repo: 'acme/other' }, []), { errors: [{ path: 'subject.repo', message: 'contradicts the workload token: it says repo=acme/payments-api' }] });
    assert.deepEqual(reconcileSubject(derived, { branch: 'release' }, []), { errors: [{ path: 'subject.branch', message: 'contradicts the workload token: it says branch=main' }] });
    assert.deepEqual(reconcileSubject(derived, { environment: 'production' }, ['environment']), { errors: [{ path: 'subject.environment', message: 'the workload token carries no environment: a job cannot set it' }] });
    assert.deepEqual(reconcileSubject(derived, { namespace: 'pay' }, ['image']), { errors: [{ path: 'subject.namespace', message: 'namespace is not derived from the workload token and the policy does not let this workload set it (subjectKeys: image)' }] });
  });
});
