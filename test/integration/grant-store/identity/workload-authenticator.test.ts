// Workload identity against the real test IdP: GitHub- and GitLab-shaped ID tokens verified from
// the issuers' discovery and JWKS, mapped to gate principals, subjects derived from claims.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { PolicySchema, type Policy } from '../../../../shared/domain/policy';
import { AppError } from '../../../../shared/errors';
import { IssuerKeys } from '../../../../grant-store/identity/issuer-keys';
import { WorkloadAuthenticator } from '../../../../grant-store/identity/workload-authenticator';
import { startOidcProvider, type OidcProviderHarness } from '../../../support/oidc-provider';
import { defaultIdentity, identityPolicyInput } from '../../../unit/shared/identity/identity-policy-fixture';

const AUDIENCE = 'https://breakglass.test';
let idp: OidcProviderHarness;
let other: OidcProviderHarness;
let policy: Policy;
let clockOffsetMs = 0;
const clock = () => new Date(Date.now() + clockOffsetMs);

before(async () => {
  [idp, other] = await Promise.all([startOidcProvider(), startOidcProvider()]);
  policy = PolicySchema.parse(identityPolicyInput({
    ...defaultIdentity(),
    workloads: {
      issuers: [
        { id: 'github', issuer: idp.github.issuer, audience: AUDIENCE, format: 'github-actions' },
        { id: 'gitlab', issuer: idp.gitlab.issuer, audience: AUDIENCE, format: 'gitlab-ci' },
      ],
      principals: [
        { principal: 'ci-payments', issuer: 'github', claims: { repository: 'acme/payments-*' }, gates: ['ci-tests'], subjectKeys: ['image'] },
        { principal: 'ci-deployer', issuer: 'gitlab', claims: { project_path: 'acme/platform/*', ref_protected: 'true' } },
      ],
    },
  }));
});
after(() => Promise.all([idp.stop(), other.stop()]));

function authenticator(options: { cooldownMs?: number } = {}) {
  return new WorkloadAuthenticator(new IssuerKeys({ cooldownMs: options.cooldownMs ?? 0 }), () => policy, clock);
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return error;
  }
  assert.fail('expected a refusal');
}

describe('workload tokens', () => {
  test('a GitHub Actions token becomes its gate principal with the subject from its claims and trusted context', async () => {
    const token = await idp.github.token({ repository: 'acme/payments-api', ref: 'refs/heads/main', run_id: '987' }, { audience: AUDIENCE });
    const caller = await authenticator().authenticate(token);
    assert.equal(caller.principal, 'ci-payments');
    assert.deepEqual(caller.derived.subject, { repo: 'acme/payments-api', branch: 'main' });
    assert.deepEqual(caller.gates, ['ci-tests']);
    assert.deepEqual(caller.extraKeys, ['image']);
    assert.equal(caller.context['oidc.run_id'], '987');
    assert.equal(caller.context['oidc.iss'], idp.github.issuer);
    assert.equal(caller.context['oidc.sub'], 'repo:acme/payments-api:ref:refs/heads/main');
  });

  test('a GitLab CI token works the same way', async () => {
    const token = await idp.gitlab.token({ project_path: 'acme/platform/deployer', ref: 'v3', ref_type: 'tag', environment: 'production' }, { audience: AUDIENCE });
    const caller = await authenticator().authenticate(token);
    assert.equal(caller.principal, 'ci-deployer');
    assert.deepEqual(caller.derived.subject, { repo: 'acme/platform/deployer', tag: 'v3', environment: 'production' });
    assert.equal(caller.gates, null);
    assert.equal(caller.context['oidc.pipeline_source'], 'push');
  });

  test('refused: expired, wrong audience, unknown issuer, forged signature, HMAC-signed, no matching principal rule', async () => {
    const auth = authenticator();
    const job = { repository: 'acme/payments-api' };
    const expired = await idp.github.token(job, { audience: AUDIENCE, issuedAt: Math.floor(Date.now() / 1000) - 3600 });
    assert.match((await refusal(auth.authenticate(expired))).message, /workload token has expired/);
    const wrongAud = await idp.github.token(job, { audience: 'https://github.com/acme' });
    assert.match((await refusal(auth.authenticate(wrongAud))).message, /for another audience \("https:\/\/github.com\/acme"\), not https:\/\/breakglass.test/);
    const stranger = await other.github.token(job, { audience: AUDIENCE });
    const unknown = await refusal(auth.authenticate(stranger));
    assert.equal(unknown.code, 'unauthenticated');
    assert.match(unknown.message, /workload tokens from http:\/\/127\.0\.0\.1:\d+\/github-actions are not trusted/);
    const claimsTrustedIssuer = await other.github.mint(idp.github.claims(job), { audience: AUDIENCE, issuer: idp.github.issuer });
    assert.match((await refusal(auth.authenticate(claimsTrustedIssuer))).message, /signed with a key .* does not publish|signature does not verify/);
    const forged = await idp.github.token(job, { audience: AUDIENCE, key: 'unpublished' });
    assert.match((await refusal(auth.authenticate(forged))).message, /signed with a key .* does not publish/);
    const hmac = await new SignJWT({ ...idp.github.claims(job), iss: idp.github.issuer, aud: AUDIENCE }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(32)));
    assert.match((await refusal(auth.authenticate(hmac))).message, /algorithm the store does not accept/);
    const website = await idp.github.token({ repository: 'acme/website' }, { audience: AUDIENCE });
    const noRule = await refusal(auth.authenticate(website));
    assert.equal(noRule.code, 'forbidden');
    assert.match(noRule.message, /no workload principal in the policy matches this github token \(repository=acme\/website\)/);
    const people = await refusal(auth.authenticate('bgt_not-a-jwt'));
    assert.match(people.message, /malformed ID token/);
  });

  test('a verified token is cached until it expires at the server clock', async () => {
    const auth = authenticator();
    const token = await idp.github.token({ repository: 'acme/payments-api' }, { audience: AUDIENCE });
    assert.equal(auth.peek(token), undefined);
    const first = await auth.authenticate(token);
    assert.equal(auth.peek(token), first, 'the second check is answered from the cache, synchronously');
    clockOffsetMs = 10 * 60_000;
    try {
      assert.equal(auth.peek(token), undefined);
      assert.match((await refusal(auth.authenticate(token))).message, /expired/);
    } finally {
      clockOffsetMs = 0;
    }
  });

  test('key rotation: a token signed with a new key is accepted after one JWKS refetch; forgeries do not refetch within the cooldown', async () => {
    const auth = authenticator();
    const jwksPath = new URL(idp.gitlab.jwksUri).pathname;
    const job = { project_path: 'acme/platform/deployer' };
    await auth.authenticate(await idp.gitlab.token(job, { audience: AUDIENCE }));
    const fetchesBefore = idp.requestCount(jwksPath);
    await idp.gitlab.rotateKeys({ dropPrevious: true });
    await auth.authenticate(await idp.gitlab.token(job, { audience: AUDIENCE }));
    assert.equal(idp.requestCount(jwksPath), fetchesBefore + 1, 'the unknown kid triggered exactly one refetch');
    await auth.authenticate(await idp.gitlab.token(job, { audience: AUDIENCE }));
    assert.equal(idp.requestCount(jwksPath), fetchesBefore + 1, 'the new key is cached');

    const patient = authenticator({ cooldownMs: 60_000 });
    await patient.authenticate(await idp.gitlab.token(job, { audience: AUDIENCE }));
    const settled = idp.requestCount(jwksPath);
    for (let i = 0; i < 3; i++) await refusal(patient.authenticate(await idp.gitlab.token(job, { audience: AUDIENCE, key: 'unpublished' })));
    assert.equal(idp.requestCount(jwksPath), settled, 'unknown key ids do not refetch within the cooldown');
  });
});
