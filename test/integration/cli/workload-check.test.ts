// `breakglass check` in a CI job with the job's OIDC ID token (BREAKGLASS_ID_TOKEN, as GitLab's
// id_tokens provide it) against a real store: the subject comes from the token; a subject naming
// another repository is refused and the gate blocks (fail closed), exit 1.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { IDENTITY_AUDIENCE, identityStorePolicy } from '../../support/identity-store-policy';
import { startOidcProvider, type OidcProviderHarness } from '../../support/oidc-provider';
import { runCli } from './cli-harness';

let idp: OidcProviderHarness;
let f: StoreFixture;

before(async () => {
  idp = await startOidcProvider();
  f = await startStoreFixture({ policyYaml: identityStorePolicy(idp) });
});
after(async () => {
  await f?.close();
  await idp?.stop();
});

test('a GitLab job checks with its ID token: verdict for its own project; another project in --subject blocks with the reason', async () => {
  const token = await idp.gitlab.token({ project_path: 'acme/platform/deployer', ref: 'main', ref_type: 'branch' }, { audience: IDENTITY_AUDIENCE });
  const env = { BREAKGLASS_STORE: f.url, BREAKGLASS_ID_TOKEN: token };
  const own = await runCli(['check', '--gate', 'deploy-freeze', '--json'], env);
  assert.equal(own.code, 1, own.stderr);
  const verdict = JSON.parse(own.stdout);
  assert.equal(verdict.verdict, 'block');
  assert.deepEqual(verdict.subject, { repo: 'acme/platform/deployer', branch: 'main' });

  const other = await runCli(['check', '--gate', 'deploy-freeze', '--subject', 'repo=acme/platform/billing', '--json'], env);
  assert.equal(other.code, 1, other.stderr);
  const refused = JSON.parse(other.stdout);
  assert.equal(refused.verdict, 'block');
  assert.match(refused.message, /contradicts the workload token: it says repo=acme\/platform\/deployer/);

  const expired = await idp.gitlab.token({ project_path: 'acme/platform/deployer', ref: 'main', ref_type: 'branch' }, { audience: IDENTITY_AUDIENCE, issuedAt: Math.floor(Date.now() / 1000) - 7200 });
  const stale = await runCli(['check', '--gate', 'deploy-freeze', '--json'], { ...env, BREAKGLASS_ID_TOKEN: expired });
  assert.equal(stale.code, 1);
  assert.match(JSON.parse(stale.stdout).message, /workload token has expired/);
});
