// The console's IdP sign-in (electron/core/session/idp-sign-in.ts) against the real test IdP and a
// real store: the system browser (here the harness's browser, driving the IdP's real pages) signs
// in with PKCE on a loopback redirect, the store session is kept and works with the console's
// store client, renewal from the refresh token gives a new session, sign-out ends it everywhere.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { IdpSignIn } from '../../../../electron/core/session/idp-sign-in';
import { StoreClient } from '../../../../electron/core/store-client';
import { AppError } from '../../../../shared/errors';
import { openSessionVault } from '../../../../shared/node/oidc/session-vault';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { identityStorePolicy } from '../../../support/identity-store-policy';
import { startOidcProvider, type OidcProviderHarness } from '../../../support/oidc-provider';

let idp: OidcProviderHarness;
let f: StoreFixture;
let dir: string;
const opened: string[] = [];

before(async () => {
  idp = await startOidcProvider({ users: [{ login: 'bob', groups: ['platform-leads', 'eng-platform'] }] });
  f = await startStoreFixture({ policyYaml: identityStorePolicy(idp) });
  dir = await mkdtemp(join(tmpdir(), 'bg-console-signin-'));
});
after(async () => {
  await f?.close();
  await idp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function service(): IdpSignIn {
  return new IdpSignIn({
    dataDir: dir,
    logger: pino({ level: 'silent' }),
    openVault: () => openSessionVault({ stateDir: dir, backend: null }),
    openBrowser: async (url) => {
      opened.push(url);
      const end = await idp.browser('bob').open(url);
      assert.equal(end.status, 200, end.body);
    },
  });
}

async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof AppError && error.code === code);
}

test('the console signs in through the IdP in the browser, uses the session, renews it and signs out on both sides', async () => {
  const signIn = service();
  const config = await signIn.authConfig(f.url);
  assert.equal(config.oidc?.issuer, idp.issuer);

  const signedIn = await signIn.signIn(f.url);
  const authorize = new URL(opened.at(-1)!);
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.match(authorize.searchParams.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  assert.equal(signedIn.info.principal, 'bob');
  assert.deepEqual(signedIn.info.approverGroups, ['leads']);
  assert.match(signedIn.keptIn, /sessions \(files of mode 0600\)/);
  const me = await new StoreClient({ storeUrl: f.url, token: signedIn.token }).whoami();
  assert.equal(me.team, 'platform');

  // A restart finds the saved session (a new service, same data dir) without signing in again.
  const again = service();
  const current = await again.currentToken(f.url);
  assert.equal(current?.token, signedIn.token);
  assert.equal(current?.renewed, false);
  const renewed = await again.currentToken(f.url, { force: true });
  assert.ok(renewed && renewed.renewed && renewed.token !== signedIn.token, 'a new session from the refresh token');
  assert.equal((await new StoreClient({ storeUrl: f.url, token: renewed.token }).whoami()).principal, 'bob');

  const out = await again.signOut(f.url);
  assert.equal(out.principal, 'bob');
  assert.equal(out.storeEnded, true);
  assert.equal(out.idpRevoked, true);
  await refusedWith(new StoreClient({ storeUrl: f.url, token: renewed.token }).whoami(), 'unauthenticated');
  assert.equal(await again.currentToken(f.url), undefined);
});

test('a store without sign-in configured says to use a token', async () => {
  const plain = await startStoreFixture();
  try {
    await assert.rejects(service().signIn(plain.url), /no sign-in configured .*admin token create/);
  } finally {
    await plain.close();
  }
});
