// Two store instances on one PostgreSQL database: a session started at one works at the other, a
// sign-out at one stops it at the other at once (the session_ended entry reaches every instance's
// session cache through the ledger feed), and a person's new IdP groups reach the other
// instance's view of the teams with their next session.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pkceLoopbackSignIn } from '../../../../shared/node/oidc/pkce-loopback';
import { discoverProvider } from '../../../../shared/node/oidc/provider-metadata';
import { startGrantStore, type RunningGrantStore } from '../../../../grant-store/http/server';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { identityStorePolicy } from '../../../support/identity-store-policy';
import { startOidcProvider, type OidcProviderHarness } from '../../../support/oidc-provider';
import { createTempDatabase, type TempDatabase } from '../../storage/pg-temp-database';
import { waitFor } from '../workflow-helpers';

let idp: OidcProviderHarness;
let db: TempDatabase;
let a: StoreFixture;
let b: RunningGrantStore;

before(async () => {
  idp = await startOidcProvider({ users: [{ login: 'bob', groups: ['platform-leads', 'eng-payments'] }] });
  db = await createTempDatabase('bg_sessions2');
  a = await startStoreFixture({ policyYaml: identityStorePolicy(idp), databaseUrl: db.url });
  b = await startGrantStore({ dataDir: a.dataDir, databaseUrl: db.url, port: 0 });
});
after(async () => {
  await b?.close();
  await a?.close();
  await db?.drop();
  await idp?.stop();
});

async function signIn(): Promise<string> {
  const tokens = await pkceLoopbackSignIn({ provider: await discoverProvider(idp.issuer), clientId: idp.clientId, scopes: ['openid', 'profile', 'email', 'groups'], openBrowser: async (url) => void (await idp.browser('bob').open(url)) });
  const r = await a.call('POST', '/v1/sessions', { body: { idToken: tokens.idToken } });
  assert.equal(r.status, 201, r.text);
  return r.json.session as string;
}

async function whoamiAtB(token: string): Promise<{ status: number; team?: string }> {
  const response = await fetch(`${b.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { team?: string };
  return { status: response.status, team: body.team };
}

test('a session from instance A works at B, its sign-out at A ends it at B, and new IdP groups reach B with the next session', async () => {
  const first = await signIn();
  const seen = await whoamiAtB(first);
  assert.equal(seen.status, 200);
  assert.equal(seen.team, 'payments');

  idp.setGroups('bob', ['platform-leads', 'eng-platform']);
  const second = await signIn();
  await waitFor(async () => (await whoamiAtB(second)).team === 'platform', 5000);
  // B's view of the teams follows the latest session for every session of bob.
  assert.equal((await whoamiAtB(first)).team, 'platform');

  const out = await a.call('DELETE', '/v1/sessions/current', { token: first });
  assert.equal(out.status, 200, out.text);
  await waitFor(async () => (await whoamiAtB(first)).status === 401, 5000);
  assert.equal((await whoamiAtB(second)).status, 200, 'only the ended session stops');
});
