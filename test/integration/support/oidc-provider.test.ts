// The test IdP itself, spoken to with plain HTTP exactly as an OIDC client, a CI job and a
// verifier would: the contract other suites build on.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startOidcProvider, type OidcProviderHarness } from '../../support/oidc-provider';

let idp: OidcProviderHarness;
let discovery: Record<string, string>;

before(async () => {
  idp = await startOidcProvider({ users: [{ login: 'alice', groups: ['eng-payments', 'oncall'] }] });
  discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
});
after(() => idp.stop());

async function tokenRequest(params: Record<string, string>): Promise<{ status: number; json: Record<string, string> }> {
  const response = await fetch(discovery.token_endpoint!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
  return { status: response.status, json: (await response.json()) as Record<string, string> };
}

async function verifyPeopleToken(idToken: string) {
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri!));
  return (await jwtVerify(idToken, jwks, { issuer: idp.issuer, audience: idp.clientId })).payload;
}

/** A loopback redirect target that records the query it receives (what a native app's listener does). */
async function loopback(): Promise<{ server: Server; redirectUri: string; received: Promise<URLSearchParams> }> {
  let resolveReceived!: (q: URLSearchParams) => void;
  const received = new Promise<URLSearchParams>((resolve) => (resolveReceived = resolve));
  const server = createServer((req, res) => {
    resolveReceived(new URL(req.url ?? '/', 'http://x').searchParams);
    res.end('signed in');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, redirectUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`, received };
}

describe('people issuer (oidc-provider)', () => {
  it('publishes discovery with the device grant, PKCE S256 and the groups scope', () => {
    assert.equal(discovery.issuer, idp.issuer);
    assert.ok(discovery.device_authorization_endpoint);
    assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
    assert.ok((discovery.scopes_supported as unknown as string[]).includes('groups'));
  });

  it('signs a person in with code + PKCE on a loopback redirect, issues groups and a refresh token, and refreshes with the current groups', async () => {
    const { server, redirectUri, received } = await loopback();
    try {
      const verifier = randomBytes(32).toString('base64url');
      const state = randomBytes(8).toString('hex');
      const nonce = randomBytes(8).toString('hex');
      const url = new URL(discovery.authorization_endpoint!);
      for (const [k, v] of Object.entries({
        client_id: idp.clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid email groups offline_access', state, nonce, prompt: 'consent',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
      })) url.searchParams.set(k, v);
      const end = await idp.browser('alice').open(url.href);
      assert.equal(end.leftIdp, true, `browser stopped at the IdP: ${end.body}`);
      const query = await received;
      assert.equal(query.get('state'), state);
      const tokens = await tokenRequest({ grant_type: 'authorization_code', code: query.get('code')!, redirect_uri: redirectUri, client_id: idp.clientId, code_verifier: verifier });
      assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
      const claims = await verifyPeopleToken(tokens.json.id_token!);
      assert.equal(claims.nonce, nonce);
      assert.equal(claims.email, 'alice@example.com');
      assert.deepEqual(claims.groups, ['eng-payments', 'oncall']);
      assert.ok(tokens.json.refresh_token);

      idp.setGroups('alice', ['eng-payments']);
      const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token!, client_id: idp.clientId });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
      assert.deepEqual((await verifyPeopleToken(refreshed.json.id_token!)).groups, ['eng-payments']);
      assert.notEqual(refreshed.json.refresh_token, tokens.json.refresh_token, 'a public client\'s refresh token rotates');
      idp.setGroups('alice', ['eng-payments', 'oncall']);
    } finally {
      server.close();
    }
  });

  it('refuses a code exchange without the PKCE verifier', async () => {
    const { server, redirectUri, received } = await loopback();
    try {
      const url = new URL(discovery.authorization_endpoint!);
      for (const [k, v] of Object.entries({ client_id: idp.clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid', code_challenge: createHash('sha256').update('x'.repeat(43)).digest('base64url'), code_challenge_method: 'S256' })) url.searchParams.set(k, v);
      await idp.browser('alice').open(url.href);
      const code = (await received).get('code')!;
      const tokens = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: idp.clientId, code_verifier: 'y'.repeat(43) });
      assert.equal(tokens.status, 400);
      assert.equal(tokens.json.error, 'invalid_grant');
    } finally {
      server.close();
    }
  });

  it('runs the device authorization grant (RFC 8628): pending until the person approves, then tokens', async () => {
    const response = await fetch(discovery.device_authorization_endpoint!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: idp.clientId, scope: 'openid groups offline_access' }) });
    const device = (await response.json()) as Record<string, string>;
    assert.ok(device.user_code && device.verification_uri && device.verification_uri_complete);
    const pending = await tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code!, client_id: idp.clientId });
    assert.equal(pending.json.error, 'authorization_pending');
    const end = await idp.browser('alice').approveDevice(device.verification_uri!, device.user_code!);
    assert.match(end.body, /data-done="device"/);
    const tokens = await tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code!, client_id: idp.clientId });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
    assert.deepEqual((await verifyPeopleToken(tokens.json.id_token!)).groups, ['eng-payments', 'oncall']);
    assert.ok(tokens.json.refresh_token);
  });

  it('reports a denied device request as access_denied', async () => {
    const response = await fetch(discovery.device_authorization_endpoint!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: idp.clientId, scope: 'openid' }) });
    const device = (await response.json()) as Record<string, string>;
    await idp.browser('alice', { deny: true }).approveDevice(device.verification_uri_complete!, device.user_code!);
    const tokens = await tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code!, client_id: idp.clientId });
    assert.equal(tokens.json.error, 'access_denied');
  });
});

describe('CI issuers', () => {
  it('serves the GitHub runner token request contract and signs GitHub-shaped tokens verifiable from discovery', async () => {
    const env = idp.github.runnerEnv({ repository: 'acme/payments-api', ref: 'refs/heads/main', environment: 'production' });
    const denied = await fetch(`${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=breakglass`, { headers: { authorization: 'Bearer wrong' } });
    assert.equal(denied.status, 401);
    const response = await fetch(`${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${encodeURIComponent('https://breakglass.example')}`, { headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` } });
    const { value } = (await response.json()) as { value: string };
    const meta = (await (await fetch(idp.github.discoveryUrl)).json()) as { issuer: string; jwks_uri: string };
    assert.equal(meta.issuer, idp.github.issuer);
    const { payload, protectedHeader } = await jwtVerify(value, createRemoteJWKSet(new URL(meta.jwks_uri)), { issuer: idp.github.issuer, audience: 'https://breakglass.example' });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.ok(protectedHeader.kid && protectedHeader.x5t);
    assert.equal(payload.sub, 'repo:acme/payments-api:environment:production');
    for (const claim of ['repository', 'repository_owner', 'repository_id', 'ref', 'ref_type', 'sha', 'workflow', 'workflow_ref', 'job_workflow_ref', 'run_id', 'run_attempt', 'actor', 'event_name', 'environment', 'runner_environment']) {
      assert.equal(typeof payload[claim], 'string', `claim ${claim}`);
    }
    assert.equal(payload.exp! - payload.iat!, 300);
    assert.deepEqual(idp.github.tokenRequests.at(-1), { audience: 'https://breakglass.example' });
    // Without &audience= GitHub's default audience is the owner's URL.
    const defaulted = (await (await fetch(env.ACTIONS_ID_TOKEN_REQUEST_URL, { headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` } })).json()) as { value: string };
    assert.equal((await jwtVerify(defaulted.value, createRemoteJWKSet(new URL(meta.jwks_uri)))).payload.aud, 'https://github.com/acme');
  });

  it('signs GitLab-shaped tokens and rotates keys (old and new both published until the old one is dropped)', async () => {
    const meta = (await (await fetch(idp.gitlab.discoveryUrl)).json()) as { issuer: string; jwks_uri: string };
    assert.equal(meta.jwks_uri, `${idp.gitlab.issuer}/oauth/discovery/keys`);
    const before = await idp.gitlab.token({ project_path: 'acme/platform/deployer', ref: 'v1.2.0', ref_type: 'tag' }, { audience: 'breakglass' });
    await idp.gitlab.rotateKeys();
    const afterRotation = await idp.gitlab.token({ project_path: 'acme/platform/deployer' }, { audience: 'breakglass' });
    assert.notEqual(decodeProtectedHeader(before).kid, decodeProtectedHeader(afterRotation).kid);
    const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
    const old = await jwtVerify(before, jwks, { issuer: idp.gitlab.issuer, audience: 'breakglass' });
    assert.equal(old.payload.sub, 'project_path:acme/platform/deployer:ref_type:tag:ref:v1.2.0');
    assert.equal(old.payload.namespace_path, 'acme/platform');
    assert.equal(old.payload.ref_path, 'refs/tags/v1.2.0');
    await jwtVerify(afterRotation, jwks, { issuer: idp.gitlab.issuer, audience: 'breakglass' });
    const forged = await idp.gitlab.token({ project_path: 'acme/platform/deployer' }, { audience: 'breakglass', key: 'unpublished' });
    await assert.rejects(jwtVerify(forged, createRemoteJWKSet(new URL(meta.jwks_uri)), { issuer: idp.gitlab.issuer }));
  });
});
