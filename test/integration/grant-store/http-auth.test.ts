import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { ENDPOINTS, UNKNOWN_IDS } from './endpoints';

const DAY_MS = 86_400_000;

/** Every endpoint refuses a missing, malformed, unknown, expired or revoked token with 401. */
describe('HTTP authentication, every endpoint', () => {
  let f: StoreFixture;
  const bad: Record<string, Record<string, string>> = {};

  before(async () => {
    f = await startStoreFixture();
    const expiring = await f.call('POST', '/v1/admin/tokens', { token: f.adminToken, body: { principal: 'eve', roles: ['admin', 'requester', 'approver', 'gate', 'auditor'], expiresInDays: 1 } });
    assert.equal(expiring.status, 201, expiring.text);
    const revoked = await f.call('POST', '/v1/admin/tokens', { token: f.adminToken, body: { principal: 'mallory', roles: ['admin', 'requester', 'approver', 'gate', 'auditor'] } });
    const del = await f.call('DELETE', `/v1/admin/tokens/${revoked.json.info.id}`, { token: f.adminToken });
    assert.equal(del.status, 200, del.text);
    assert.ok(del.json.token.revokedAt);
    // The expiring token works until the server clock passes its expiry.
    assert.equal((await f.call('GET', '/v1/whoami', { token: expiring.json.token })).status, 200);
    f.clock.advance(DAY_MS + 1000);
    bad.missing = {};
    bad.malformed = { authorization: 'Token abc' };
    bad.unknown = { authorization: 'Bearer bgt_not-a-real-token' };
    bad.expired = { authorization: `Bearer ${expiring.json.token}` };
    bad.revoked = { authorization: `Bearer ${revoked.json.token}` };
  });
  after(() => f?.close());

  test('a revoked token cannot be revoked twice (409 with its state)', async () => {
    const list = await f.call('GET', '/v1/admin/tokens', { token: f.adminToken });
    const revoked = list.json.tokens.find((t: { principal: string }) => t.principal === 'mallory');
    const r = await f.call('DELETE', `/v1/admin/tokens/${revoked.id}`, { token: f.adminToken });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.currentState, 'revoked');
  });

  test('the token list never contains secrets or hashes', async () => {
    const list = await f.call('GET', '/v1/admin/tokens', { token: f.adminToken });
    assert.ok(list.json.tokens.length >= 3);
    assert.doesNotMatch(list.text, /bgt_|tokenHash|token_hash/);
  });

  for (const e of ENDPOINTS) {
    const path = e.path.replace(/:(req|rev|tok|key|gate)\b/g, (_, n: keyof typeof UNKNOWN_IDS) => UNKNOWN_IDS[n]).replace(':principal', 'bob');
    for (const kind of ['missing', 'malformed', 'unknown', 'expired', 'revoked']) {
      test(`${e.method} ${e.path} with a ${kind} token → 401`, async () => {
        const before = await f.ledgerSize();
        const r = await f.call(e.method, path, { headers: bad[kind]!, ...(e.body ? { body: {} } : {}) });
        assert.equal(r.status, 401, r.text);
        assert.equal(r.json.error.code, 'unauthenticated');
        assert.equal(await f.ledgerSize(), before);
      });
    }
  }
});
