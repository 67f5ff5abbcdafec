import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deviceFlowSignIn } from '../../../../../shared/node/oidc/device-flow';
import type { ProviderMetadata } from '../../../../../shared/node/oidc/provider-metadata';
import { openFileVault } from '../../../../../shared/node/oidc/session-vault';
import { checkIdTokenClaims, requestTokens, revokeRefreshToken } from '../../../../../shared/node/oidc/token-endpoint';
import { writeKeyPairFiles } from '../../../../../shared/node/signing/key-files';
import { AppError } from '../../../../../shared/errors';

/**
 * What the OIDC clients and the key files say when something is wrong, instead of swallowing it:
 * an IdP answer that is not JSON names the endpoint, the status and why; a refresh token that
 * was not revoked says why; a saved sign-in or a key path that cannot be read names the file.
 * (The happy paths run against a real OpenID provider in test/integration/shared/node/oidc.)
 */
const PROVIDER = {
  issuer: 'https://idp.example',
  token_endpoint: 'https://idp.example/token',
  device_authorization_endpoint: 'https://idp.example/device',
  authorization_endpoint: 'https://idp.example/authorize',
  jwks_uri: 'https://idp.example/jwks',
} as unknown as ProviderMetadata;

const answer = (status: number, body: string) => async () => new Response(body, { status, headers: { 'content-type': 'text/html' } });

function appError(pattern: RegExp) {
  return (error: unknown) => error instanceof AppError && pattern.test(error.message);
}

describe('IdP answers and key files: every failure named', () => {
  test('a token endpoint answering HTML names the endpoint, the status and that it is not JSON', async () => {
    await assert.rejects(
      requestTokens(PROVIDER, { grant_type: 'refresh_token', refresh_token: 'r' }, { fetch: answer(502, '<html>Bad gateway</html>') }),
      appError(/token endpoint \(https:\/\/idp\.example\/token\) answered HTTP 502 with a body that is not JSON \(.+\)/),
    );
    await assert.rejects(requestTokens(PROVIDER, { grant_type: 'refresh_token', refresh_token: 'r' }, { fetch: answer(200, '') }), appError(/answered HTTP 200 with a body that is not JSON \(empty body\)/));
  });

  test('a device endpoint answering 200 with HTML says so instead of "no device code"', async () => {
    await assert.rejects(
      deviceFlowSignIn({ provider: PROVIDER, clientId: 'cli', scopes: ['openid'], onPrompt: () => undefined, fetch: answer(200, '<html>login</html>') }),
      appError(/device endpoint \(https:\/\/idp\.example\/device\) answered with a body that is not JSON/),
    );
  });

  test('an ID token that is not a JWT says why', () => {
    assert.throws(() => checkIdTokenClaims('not-a-jwt', { issuer: PROVIDER.issuer, clientId: 'cli' }), appError(/not a JWT \(.+\)/));
  });

  test('a refresh token not revoked says why: no endpoint, a refusal, no answer', async () => {
    assert.deepEqual(await revokeRefreshToken(PROVIDER, 'cli', 'r'), { revoked: false, problem: 'https://idp.example offers no revocation endpoint' });
    const withEndpoint = { ...PROVIDER, revocation_endpoint: 'https://idp.example/revoke' } as ProviderMetadata;
    assert.deepEqual(await revokeRefreshToken(withEndpoint, 'cli', 'r', { fetch: answer(400, '') }), { revoked: false, problem: 'the revocation endpoint answered HTTP 400' });
    const down = async () => {
      throw new TypeError('fetch failed');
    };
    const revocation = await revokeRefreshToken(withEndpoint, 'cli', 'r', { fetch: down });
    assert.equal(revocation.revoked, false);
    assert.match(revocation.revoked ? '' : revocation.problem, /did not answer \(fetch failed\)/);
  });

  test('removing a saved sign-in: none there is false; one that cannot be checked is an error naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-idp-answers-'));
    try {
      assert.equal(await openFileVault(dir, 'no keychain in this test').remove('http://127.0.0.1:7410'), false);
      if (process.getuid?.() !== 0) {
        // Not as root: root reads through any permission.
        const { chmod, mkdir } = await import('node:fs/promises');
        await mkdir(join(dir, 'sessions'));
        await chmod(join(dir, 'sessions'), 0o000);
        await assert.rejects(openFileVault(dir, 'no keychain').remove('http://127.0.0.1:7410'), appError(/cannot read the saved sign-in .*sessions/));
        await chmod(join(dir, 'sessions'), 0o700);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('keygen into a path under a file (not a directory) is refused as a missing directory, not guessed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-keyfiles-'));
    try {
      const first = await writeKeyPairFiles(join(dir, 'a.pem'));
      // a.pem is a file: a.pem/x.pem is under no directory (ENOTDIR is "nothing there", then the write says why).
      await assert.rejects(writeKeyPairFiles(join(first.privateKeyPath, 'x.pem')), (error: unknown) => error instanceof Error);
      await assert.rejects(writeKeyPairFiles(join(dir, 'a.pem')), appError(/already exists: refusing to overwrite/));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
