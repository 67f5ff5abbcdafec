// The device-flow and PKCE-loopback clients (used by the CLI and the console) against the real
// test IdP: a person signs in through its pages, tokens come back, refresh and revocation work.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { AppError } from '../../../../../shared/errors';
import { deviceFlowSignIn } from '../../../../../shared/node/oidc/device-flow';
import { pkceLoopbackSignIn } from '../../../../../shared/node/oidc/pkce-loopback';
import { discoverProvider, type ProviderMetadata } from '../../../../../shared/node/oidc/provider-metadata';
import { OAuthError, refreshTokens, revokeRefreshToken } from '../../../../../shared/node/oidc/token-endpoint';
import { startOidcProvider, type OidcProviderHarness } from '../../../../support/oidc-provider';

const SCOPES = ['openid', 'email', 'groups', 'offline_access'];
let idp: OidcProviderHarness;
let provider: ProviderMetadata;

before(async () => {
  idp = await startOidcProvider({ users: [{ login: 'alice', groups: ['eng-payments'] }, { login: 'bob', groups: ['platform-leads'] }] });
  provider = await discoverProvider(idp.issuer);
});
after(() => idp.stop());

async function refused(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return error.message;
  }
  assert.fail('expected a refusal');
}

describe('device authorization grant client', () => {
  test('shows the code, the person approves at the IdP, the client gets an ID token with groups and a refresh token', async () => {
    let prompted = 0;
    const tokens = await deviceFlowSignIn({
      provider, clientId: idp.clientId, scopes: SCOPES,
      onPrompt: async (prompt) => {
        prompted++;
        assert.ok(prompt.expiresAt.getTime() > Date.now());
        await idp.browser('alice').approveDevice(prompt.verificationUri, prompt.userCode);
      },
      sleep: async () => assert.fail('no wait needed once approved'),
    });
    assert.equal(prompted, 1);
    assert.deepEqual(decodeJwt(tokens.idToken).groups, ['eng-payments']);
    assert.ok(tokens.refreshToken);
  });

  test('polls while authorization is pending, at the IdP\'s interval', async () => {
    let prompt: { verificationUri: string; userCode: string } | undefined;
    const waits: number[] = [];
    const tokens = await deviceFlowSignIn({
      provider, clientId: idp.clientId, scopes: ['openid'],
      onPrompt: (p) => void (prompt = p),
      sleep: async (ms) => {
        waits.push(ms);
        if (waits.length === 2) await idp.browser('bob').approveDevice(prompt!.verificationUri, prompt!.userCode);
      },
    });
    assert.equal(decodeJwt(tokens.idToken).email, undefined, 'only the openid scope was asked for');
    assert.equal(waits.length, 2);
    assert.ok(waits.every((ms) => ms >= 5000), `waited ${waits.join(', ')} ms (the IdP's interval, or more after slow_down)`);
  });

  test('a refusal at the IdP ends the sign-in', async () => {
    const message = await refused(deviceFlowSignIn({
      provider, clientId: idp.clientId, scopes: ['openid'],
      onPrompt: async (p) => void (await idp.browser('alice', { deny: true }).approveDevice(p.verificationUri, p.userCode)),
      sleep: async () => {},
    }));
    assert.match(message, /refused at the identity provider/);
  });
});

describe('authorization code + PKCE loopback client', () => {
  test('the browser signs in at the IdP and comes back to the loopback listener; nonce and state checked', async () => {
    let opened = '';
    const tokens = await pkceLoopbackSignIn({
      provider, clientId: idp.clientId, scopes: SCOPES,
      openBrowser: async (url) => {
        opened = url;
        const end = await idp.browser('bob').open(url);
        assert.equal(end.status, 200);
        assert.match(end.body, /Signed in/);
      },
    });
    const authorize = new URL(opened);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authorize.searchParams.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.equal(authorize.searchParams.get('prompt'), 'consent', 'offline_access needs prompt=consent');
    const claims = decodeJwt(tokens.idToken);
    assert.equal(claims.nonce, authorize.searchParams.get('nonce'));
    assert.deepEqual(claims.groups, ['platform-leads']);
  });

  test('a redirect with another state is refused, and so is a failed login that never comes back (timeout)', async () => {
    const message = await refused(pkceLoopbackSignIn({
      provider, clientId: idp.clientId, scopes: ['openid'],
      openBrowser: async (url) => {
        const tampered = new URL(url);
        tampered.searchParams.set('state', 'attacker');
        const end = await idp.browser('alice').open(tampered.href);
        assert.equal(end.status, 400);
      },
    }));
    assert.match(message, /another state/);
    const timeout = await refused(pkceLoopbackSignIn({
      provider, clientId: idp.clientId, scopes: ['openid'], timeoutMs: 300,
      openBrowser: async (url) => void (await idp.browser('alice', { password: 'wrong' }).open(url)),
    }));
    assert.match(timeout, /no answer from the browser sign-in in time/);
  });

  test('a denied consent comes back as an IdP refusal', async () => {
    const message = await refused(pkceLoopbackSignIn({
      provider, clientId: idp.clientId, scopes: SCOPES,
      openBrowser: async (url) => void (await idp.browser('alice', { deny: true }).open(url)),
    }));
    assert.match(message, /refused the sign-in: access_denied/);
  });
});

describe('refresh and revocation', () => {
  test('a refresh brings the IdP\'s current groups; a revoked refresh token is refused', async () => {
    const tokens = await pkceLoopbackSignIn({ provider, clientId: idp.clientId, scopes: SCOPES, openBrowser: async (url) => void (await idp.browser('alice').open(url)) });
    idp.setGroups('alice', ['eng-payments', 'platform-leads']);
    try {
      const refreshed = await refreshTokens(provider, idp.clientId, tokens.refreshToken!);
      assert.deepEqual(decodeJwt(refreshed.idToken).groups, ['eng-payments', 'platform-leads']);
      assert.deepEqual(await revokeRefreshToken(provider, idp.clientId, refreshed.refreshToken!), { revoked: true });
      await assert.rejects(refreshTokens(provider, idp.clientId, refreshed.refreshToken!), (error: unknown) => error instanceof OAuthError && error.error === 'invalid_grant');
    } finally {
      idp.setGroups('alice', ['eng-payments']);
    }
  });

  test('discovery refuses a document that names another issuer', async () => {
    const message = await refused(discoverProvider(`${idp.issuer}/`));
    assert.match(message, /names issuer http:\/\/127\.0\.0\.1:\d+, not http:\/\/127\.0\.0\.1:\d+\//);
  });
});
