import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TokenCache } from '../../../../grant-store/checks/token-cache';
import { SqliteStore } from '../../../../grant-store/storage/sqlite/sqlite-store';
import type { Store, StoredToken } from '../../../../grant-store/storage/store';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';

let dir: string;
let store: SqliteStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-token-cache-'));
  store = SqliteStore.open(join(dir, 'breakglass.db'));
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function newToken(): Promise<StoredToken> {
  const token: StoredToken = { id: `tok_${randomBytes(6).toString('hex')}`, tokenHash: randomBytes(32).toString('hex'), principal: 'ci-gate', roles: ['gate'], createdAt: new Date().toISOString(), expiresAt: null, revokedAt: null };
  await store.transaction((tx) => tx.insertToken(token));
  return token;
}

/** The real store, counting the token reads that reach it; the first read's answer is held until `hold` resolves. */
function counting(hold?: Promise<void>): { store: Store; reads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'getTokenByHash') {
        return (hash: string) => {
          const read = target.getTokenByHash(hash);
          return reads++ === 0 && hold ? read.then(async (token) => (await hold, token)) : read;
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: wrapped, reads: () => reads };
}

test('concurrent misses for one token share one read, then it is served from memory', async () => {
  const token = await newToken();
  const { store: wrapped, reads } = counting();
  const cache = new TokenCache(wrapped);
  const found = await Promise.all(Array.from({ length: 200 }, () => cache.getTokenByHash(token.tokenHash)));
  assert.equal(reads(), 1);
  assert.ok(found.every((t) => t?.id === token.id));
  assert.equal(cache.peek(token.tokenHash)?.id, token.id);
  const unknown = randomBytes(32).toString('hex');
  assert.deepEqual(await Promise.all([cache.getTokenByHash(unknown), cache.getTokenByHash(unknown)]), [undefined, undefined]);
  assert.equal(reads(), 2, 'two concurrent misses of an unknown token share one read too');
  assert.equal(await cache.getTokenByHash(unknown), undefined);
  assert.equal(reads(), 3, 'unknown tokens are not cached');
  cache.stop();
});

test('a read in flight when a token_revoked entry arrives is not cached, and a lookup after it reads again', async () => {
  const token = await newToken();
  let release!: () => void;
  const { store: wrapped, reads } = counting(new Promise<void>((resolve) => (release = resolve)));
  const cache = new TokenCache(wrapped);
  // Read before the revocation, answered after it (a slow database round trip).
  const early = cache.getTokenByHash(token.tokenHash);
  // The revocation commits (its entry reaches the cache's listener) while that read is in flight.
  await store.transaction(async (tx) => {
    await tx.revokeToken(token.id, new Date().toISOString());
    await tx.appendLedger([ledgerEntry({ type: 'token_revoked', target: token.id })]);
  });
  const late = await cache.getTokenByHash(token.tokenHash);
  assert.ok(late?.revokedAt, 'a lookup after the revocation does not join the earlier read');
  release();
  assert.equal((await early)?.revokedAt, null, 'the early read saw the token before its revocation');
  assert.equal(cache.peek(token.tokenHash), undefined, 'nothing read before the revocation stays cached');
  assert.equal(reads(), 2);
  cache.stop();
});
