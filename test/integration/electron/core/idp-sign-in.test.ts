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
import { composeConsole } from '../../../../electron/core/compose-console';
import { pinCancelled } from '../../../../electron/core/pin-prompt';
import { IdpSignIn } from '../../../../electron/core/session/idp-sign-in';
import { memoryKeychain } from './memory-keychain';
import { StoreClient } from '../../../../shared/node/http/store-client';
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
  const me = await new StoreClient({ baseUrl: f.url, token: signedIn.token, timeoutMs: 10_000 }).call('whoami');
  assert.equal(me.team, 'platform');

  // A restart finds the saved session (a new service, same data dir) without signing in again.
  const again = service();
  const current = await again.currentToken(f.url);
  assert.equal(current?.token, signedIn.token);
  assert.equal(current?.renewed, false);
  const renewed = await again.currentToken(f.url, { force: true });
  assert.ok(renewed && renewed.renewed && renewed.token !== signedIn.token, 'a new session from the refresh token');
  assert.equal((await new StoreClient({ baseUrl: f.url, token: renewed.token, timeoutMs: 10_000 }).call('whoami')).principal, 'bob');

  const out = await again.signOut(f.url);
  assert.equal(out.principal, 'bob');
  assert.equal(out.storeEnded, true);
  assert.equal(out.idpRevoked, true);
  await refusedWith(new StoreClient({ baseUrl: f.url, token: renewed.token, timeoutMs: 10_000 }).call('whoami'), 'unauthenticated');
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

test('composeConsole: sign-in-idp sets the console up as the IdP says, renews the store session, and sign-out ends it at the store and the IdP', async () => {
  // A one-minute session: renewal (a minute before the end) is due at every check.
  const shortIdp = await startOidcProvider({ users: [{ login: 'bob', groups: ['platform-leads', 'eng-platform'] }] });
  const store = await startStoreFixture({ policyYaml: identityStorePolicy(shortIdp, { sessionTtl: '1m' }) });
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-console-idp-'));
  const keychain = memoryKeychain();
  const core = composeConsole({
    dataDir,
    logger: pino({ level: 'silent' }),
    host: 'browser',
    pinPrompt: { ask: () => Promise.reject(pinCancelled()) },
    openVault: keychain.openVault,
    openIdpVault: () => openSessionVault({ stateDir: dataDir, backend: null }),
    openSignInUrl: async (url) => void (await shortIdp.browser('bob').open(url)),
    sse: { initialBackoffMs: 50, maxBackoffMs: 200 },
  });
  try {
    await core.start();
    const session = await core.handlers['console:main:sign-in-idp']({ storeUrl: store.url, key: { kind: 'software' } });
    assert.equal(session.configured, true);
    assert.equal(session.principal, 'bob');
    assert.equal(session.team, 'platform');
    assert.deepEqual(session.approverGroups, ['leads']);
    const first = [...keychain.secrets.values()].find((v) => v.startsWith('bgs_'));
    assert.ok(first, 'the store session is the console API token in the keychain');

    // A restart: the renewal check at start replaces the near-expiry session with a new one.
    await core.stop();
    await core.start();
    const renewed = await waitForValue(() => [...keychain.secrets.values()].find((v) => v.startsWith('bgs_') && v !== first));
    assert.equal((await new StoreClient({ baseUrl: store.url, token: renewed, timeoutMs: 10_000 }).call('whoami')).principal, 'bob');
    assert.equal((await core.handlers['console:main:get-session']({})).principal, 'bob');

    const out = await core.handlers['console:main:sign-out']({ forgetKey: true });
    assert.equal(out.configured, false);
    await refusedWith(new StoreClient({ baseUrl: store.url, token: renewed, timeoutMs: 10_000 }).call('whoami'), 'unauthenticated');
    const ended = await store.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: store.adminToken });
    assert.ok(ended.json.entries.some((e: { type: string }) => e.type === 'session_ended'), 'session_ended in the ledger');
  } finally {
    await core.stop();
    await store.close();
    await shortIdp.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

async function waitForValue<T>(read: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() - start > timeoutMs) throw new Error('no value in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
