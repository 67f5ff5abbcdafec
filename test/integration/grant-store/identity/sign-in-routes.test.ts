// Sign-in and workload identity through the store's HTTP API, against the real test IdP, on
// SQLite and PostgreSQL: ID tokens exchanged for sessions (PKCE and device grant), sessions that
// expire and end, IdP groups deciding separation of duties (a group removed at the IdP counts
// from the next session), foreign issuers and audiences refused; CI jobs checking with their
// GitHub/GitLab ID tokens, whose subject comes from the token and cannot be another repository's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateSoftwareKeyPair, fileKeySigner } from '../../../../shared/node/signing/software-signer';
import { deviceFlowSignIn } from '../../../../shared/node/oidc/device-flow';
import { pkceLoopbackSignIn } from '../../../../shared/node/oidc/pkce-loopback';
import { discoverProvider, type ProviderMetadata } from '../../../../shared/node/oidc/provider-metadata';
import { refreshTokens } from '../../../../shared/node/oidc/token-endpoint';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { startOidcProvider, type OidcProviderHarness } from '../../../support/oidc-provider';
import { createTempDatabase, type TempDatabase } from '../../storage/pg-temp-database';
import { IDENTITY_AUDIENCE as AUDIENCE, identityStorePolicy as policyYaml } from '../../../support/identity-store-policy';

const SCOPES = ['openid', 'profile', 'email', 'groups', 'offline_access'];
const MINUTE = 60_000;

let idp: OidcProviderHarness;
let other: OidcProviderHarness;
let provider: ProviderMetadata;

before(async () => {
  [idp, other] = await Promise.all([
    startOidcProvider({
      users: [
        { login: 'alice', groups: ['eng-payments'] },
        { login: 'bob', groups: ['platform-leads', 'eng-payments'] },
        { login: 'erin', groups: ['marketing'] },
      ],
    }),
    startOidcProvider({ users: [{ login: 'alice', groups: ['eng-payments'] }] }),
  ]);
  provider = await discoverProvider(idp.issuer);
});
after(() => Promise.all([idp.stop(), other.stop()]));

/** A person signs in at `at` through the browser (PKCE loopback) and the client gets its tokens. */
async function browserSignIn(at: OidcProviderHarness, login: string, clientId = at.clientId) {
  const metadata = at === idp ? provider : await discoverProvider(at.issuer);
  return pkceLoopbackSignIn({ provider: metadata, clientId, scopes: SCOPES, openBrowser: async (url) => void (await at.browser(login).open(url)) });
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`sign-in and workload identity over HTTP (${backend})`, () => {
    let f: StoreFixture;
    let db: TempDatabase | undefined;

    before(async () => {
      db = backend === 'postgres' ? await createTempDatabase('bg_signin') : undefined;
      f = await startStoreFixture({ policyYaml: policyYaml(idp), databaseUrl: db?.url });
    });
    after(async () => {
      await f?.close();
      await db?.drop();
    });

    async function session(idToken: string): Promise<{ token: string; info: Record<string, unknown> }> {
      const r = await f.call('POST', '/v1/sessions', { body: { idToken } });
      assert.equal(r.status, 201, r.text);
      assert.match(r.json.session, /^bgs_/);
      return { token: r.json.session, info: r.json.info };
    }

    test('GET /v1/auth/config tells a client, without a token, where and how to sign in', async () => {
      const r = await f.call('GET', '/v1/auth/config');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.oidc, { issuer: idp.issuer, clientId: idp.clientId, scopes: SCOPES });
      assert.deepEqual(r.json.workloads.map((w: { format: string }) => w.format), ['github-actions', 'gitlab-ci']);
    });

    test('PKCE sign-in: the ID token buys one session whose team and roles come from the IdP groups; whoami and requests use it', async () => {
      const tokens = await browserSignIn(idp, 'alice');
      const { token, info } = await session(tokens.idToken);
      assert.equal(info.principal, 'alice');
      assert.equal(info.team, 'payments');
      assert.deepEqual(info.roles, ['requester']);
      const who = await f.call('GET', '/v1/whoami', { token });
      assert.equal(who.status, 200, who.text);
      assert.equal(who.json.team, 'payments');
      const again = await f.call('POST', '/v1/sessions', { body: { idToken: tokens.idToken } });
      assert.equal(again.status, 409, `one ID token buys one session: ${again.text}`);
      const filed = await f.call('POST', '/v1/requests', { token, body: { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: 'integration suite is down and a hotfix for INC-1190 must ship', severity: 'sev3', ttl: '1h' } });
      assert.equal(filed.status, 201, filed.text);
      assert.equal(filed.json.request.requester, 'alice');
      assert.equal(filed.json.request.team, 'payments');
    });

    test('device grant sign-in works the same; sign-out ends the session at once', async () => {
      const tokens = await deviceFlowSignIn({
        provider, clientId: idp.clientId, scopes: SCOPES,
        onPrompt: async (p) => void (await idp.browser('alice').approveDevice(p.verificationUri, p.userCode)),
        sleep: async () => assert.fail('approved before the first poll'),
      });
      const { token } = await session(tokens.idToken);
      assert.equal((await f.call('GET', '/v1/whoami', { token })).status, 200);
      const out = await f.call('DELETE', '/v1/sessions/current', { token });
      assert.equal(out.status, 200, out.text);
      assert.equal(out.json.session.principal, 'alice');
      const after = await f.call('GET', '/v1/whoami', { token });
      assert.equal(after.status, 401);
      assert.match(after.json.error.message, /ended .*sign in again/);
      const adminOut = await f.call('DELETE', '/v1/sessions/current', { token: f.adminToken });
      assert.equal(adminOut.status, 400, 'an admin token is not a session');
    });

    test('a session expires at sessionTtl on the server clock; a refreshed ID token buys a new one', async () => {
      const tokens = await browserSignIn(idp, 'alice');
      const { token, info } = await session(tokens.idToken);
      assert.equal(Date.parse(info.expiresAt as string) - Date.parse(info.createdAt as string), 60 * MINUTE);
      f.clock.advance(61 * MINUTE);
      try {
        const expired = await f.call('GET', '/v1/whoami', { token });
        assert.equal(expired.status, 401);
        assert.match(expired.json.error.message, /expired at .*sign in again/);
        // An hour-old ID token is past maxIdTokenAge: it cannot buy a session either.
        const stale = await f.call('POST', '/v1/sessions', { body: { idToken: (await browserSignIn(idp, 'alice')).idToken } });
        assert.equal(stale.status, 401, stale.text);
        f.clock.advance(-61 * MINUTE);
        const refreshed = await refreshTokens(provider, idp.clientId, tokens.refreshToken!);
        const renewed = await session(refreshed.idToken);
        assert.notEqual(renewed.token, token);
        assert.equal((await f.call('GET', '/v1/whoami', { token: renewed.token })).status, 200);
      } finally {
        f.clock.offsetMs = 0;
      }
    });

    test("separation of duties uses the IdP's groups, and a group removed at the IdP counts from the next session", async () => {
      const alice = await session((await browserSignIn(idp, 'alice')).idToken);
      idp.setGroups('bob', ['platform-leads', 'eng-payments']);
      const bob = await session((await browserSignIn(idp, 'bob')).idToken);
      assert.deepEqual(bob.info.roles, ['approver', 'requester']);
      const pair = generateSoftwareKeyPair();
      const enrolled = await f.call('POST', '/v1/admin/approvers/bob/keys', { token: f.adminToken, body: { publicKeyPem: pair.publicKeyPem, hardwareBacked: false } });
      assert.equal(enrolled.status, 201, enrolled.text);
      const filed = await f.call('POST', '/v1/requests', { token: alice.token, body: { gate: 'deploy-freeze', scope: { repo: 'payments-api', branch: 'main' }, reason: 'freeze exception for the INC-2201 rollback of payments-api', severity: 'sev2', incidentRef: 'INC-2201', ttl: '1h' } });
      assert.equal(filed.status, 201, filed.text);
      const request = filed.json.request;
      const approve = async (token: string) =>
        f.call('POST', `/v1/requests/${request.id}/decisions`, { token, body: { bundle: await f.sign(request, 'bob', fileKeySigner(pair.privateKeyPem), 'approve') } });

      const sameTeam = await approve(bob.token);
      assert.equal(sameTeam.status, 403, sameTeam.text);
      assert.match(sameTeam.json.error.message, /requester's team \(payments\)/);

      // Bob moves to platform at the IdP: his next session puts him there, and he may approve.
      idp.setGroups('bob', ['platform-leads', 'eng-platform']);
      const moved = await session((await browserSignIn(idp, 'bob')).idToken);
      assert.equal(moved.info.team, 'platform');
      const ok = await approve(moved.token);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.request.state, 'active');

      // Bob loses platform-leads: the next session carries no approver role and no approver group.
      idp.setGroups('bob', ['eng-platform']);
      const demoted = await session((await browserSignIn(idp, 'bob')).idToken);
      assert.deepEqual(demoted.info.roles, ['requester']);
      assert.deepEqual((await f.call('GET', '/v1/whoami', { token: demoted.token })).json.approverGroups, []);
      const revoke = await f.call('POST', `/v1/requests/${request.id}/decisions`, { token: demoted.token, body: { bundle: await f.sign(ok.json.request, 'bob', fileKeySigner(pair.privateKeyPem), 'revoke', { comment: 'no longer needed' }) } });
      assert.equal(revoke.status, 403, revoke.text);
    });

    test('refused: an ID token from another issuer, for another client, of a person in no mapped group, or not a JWT', async () => {
      const foreign = await f.call('POST', '/v1/sessions', { body: { idToken: (await browserSignIn(other, 'alice')).idToken } });
      assert.equal(foreign.status, 401, foreign.text);
      assert.match(foreign.json.error.message, /not accepted here/);
      const otherClient = await f.call('POST', '/v1/sessions', { body: { idToken: (await browserSignIn(idp, 'alice', idp.otherClientId)).idToken } });
      assert.equal(otherClient.status, 401, otherClient.text);
      assert.match(otherClient.json.error.message, /another audience/);
      const unmapped = await f.call('POST', '/v1/sessions', { body: { idToken: (await browserSignIn(idp, 'erin')).idToken } });
      assert.equal(unmapped.status, 403, unmapped.text);
      assert.match(unmapped.json.error.message, /erin may not sign in: none of your IdP groups \(marketing\)/);
      for (const body of [{ idToken: 5 }, {}, { idToken: 'x', extra: 1 }]) {
        const bad = await f.call('POST', '/v1/sessions', { body });
        assert.equal(bad.status, 400, bad.text);
        assert.ok(bad.json.error.fieldErrors.length > 0, 'the field is named');
      }
      const badCheck = await f.call('POST', '/v1/checks/workload', { token: await idp.github.token({ repository: 'acme/payments-a' }, { audience: AUDIENCE }), body: { gate: 'ci-tests', subject: { repo: 5 } } });
      assert.equal(badCheck.status, 400, badCheck.text);
      const garbage = await f.call('POST', '/v1/sessions', { body: { idToken: 'bgt_not-an-id-token' } });
      assert.equal(garbage.status, 401);
      const bearer = await f.call('GET', '/v1/whoami', { token: 'bgs_made-up' });
      assert.equal(bearer.status, 401);
    });

    test('a GitHub Actions job for repo a gets the verdict for repo a only: a subject naming repo b is refused', async () => {
      // An active bypass for acme/payments-b, approved by dave (an admin-minted approver token).
      const dave = await f.approver('dave');
      const requester = await session((await browserSignIn(idp, 'alice')).idToken);
      const filed = await f.call('POST', '/v1/requests', { token: requester.token, body: { gate: 'ci-tests', scope: { repo: 'acme/payments-b', branch: 'main' }, reason: 'flaky integration suite blocks the INC-1190 hotfix', severity: 'sev3', ttl: '1h' } });
      assert.equal(filed.status, 201, filed.text);
      const approved = await f.call('POST', `/v1/requests/${filed.json.request.id}/decisions`, { token: dave.token, body: { bundle: await f.sign(filed.json.request, 'dave', dave.signer, 'approve') } });
      assert.equal(approved.status, 200, approved.text);

      const jobB = await idp.github.token({ repository: 'acme/payments-b', ref: 'refs/heads/main' }, { audience: AUDIENCE });
      const underB = await f.call('POST', '/v1/checks/workload', { token: jobB, body: { gate: 'ci-tests' } });
      assert.equal(underB.status, 200, underB.text);
      assert.equal(underB.json.verdict, 'warn');

      const jobA = await idp.github.token({ repository: 'acme/payments-a', ref: 'refs/heads/main' }, { audience: AUDIENCE });
      const claimsB = await f.call('POST', '/v1/checks/workload', { token: jobA, body: { gate: 'ci-tests', subject: { repo: 'acme/payments-b' } } });
      assert.equal(claimsB.status, 403, claimsB.text);
      assert.match(claimsB.json.error.message, /does not match the workload token/);
      const own = await f.call('POST', '/v1/checks/workload', { token: jobA, body: { gate: 'ci-tests' } });
      assert.equal(own.status, 200, own.text);
      assert.equal(own.json.verdict, 'block', 'the job is checked as acme/payments-a, which has no bypass');
      const otherGate = await f.call('POST', '/v1/checks/workload', { token: jobA, body: { gate: 'deploy-freeze' } });
      assert.equal(otherGate.status, 403, 'ci-payments may check ci-tests only');
      const asGateToken = await f.call('POST', '/v1/checks', { token: jobA, body: { gate: 'ci-tests', subject: { repo: 'acme/payments-b' } } });
      assert.equal(asGateToken.status, 401, 'a CI token is not a store token on /v1/checks');
    });

    test('a GitLab CI job is checked by its project and ref; refused: expired, wrong audience, unknown issuer, no token, a store token', async () => {
      const job = { project_path: 'acme/platform/deployer', ref: 'main', ref_type: 'branch' as const };
      const ok = await f.call('POST', '/v1/checks/workload', { token: await idp.gitlab.token(job, { audience: AUDIENCE }), body: { gate: 'deploy-freeze', subject: { repo: 'acme/platform/deployer', branch: 'main' } } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.verdict, 'block');
      const cases: [string, string | undefined, RegExp][] = [
        ['expired', await idp.gitlab.token(job, { audience: AUDIENCE, issuedAt: Math.floor(Date.now() / 1000) - 7200 }), /has expired/],
        ['wrong audience', await idp.gitlab.token(job, { audience: 'https://gitlab.example.com' }), /another audience/],
        ['unknown issuer', await other.gitlab.token(job, { audience: AUDIENCE }), /not trusted/],
        ['forged', await idp.gitlab.token(job, { audience: AUDIENCE, key: 'unpublished' }), /does not publish|signature/],
        ['no token', undefined, /missing bearer token/],
        ['store token', f.adminToken, /not a JWT/],
      ];
      for (const [what, token, message] of cases) {
        const r = await f.call('POST', '/v1/checks/workload', { token, body: { gate: 'deploy-freeze' } });
        assert.equal(r.status, 401, `${what}: ${r.text}`);
        assert.match(r.json.error.message, message, what);
      }
    });
  });
}
