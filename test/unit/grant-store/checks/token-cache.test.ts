import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TokenCache } from '../../../../grant-store/checks/token-cache';
import { authenticate, authenticateCached, hashToken } from '../../../../grant-store/service/identity-service';
import type { ServiceDeps } from '../../../../grant-store/service/service-deps';
import { AppError } from '../../../../shared/errors';
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

/** A token whose bearer string is known (its row holds the bearer's hash, as minted tokens do). */
async function newBearer(expiresAt: string | null = null): Promise<{ bearer: string; token: StoredToken }> {
  const bearer = `bgt_${randomBytes(32).toString('base64url')}`;
  const token: StoredToken = { id: `tok_${randomBytes(6).toString('hex')}`, tokenHash: hashToken(bearer), principal: 'ci-gate', roles: ['gate'], createdAt: new Date().toISOString(), expiresAt, revokedAt: null };
  await store.transaction((tx) => tx.insertToken(token));
  return { bearer, token };
}

/** What authentication reads of the service deps: the real store, the cache over it, a clock we move. */
function authDeps(cache: TokenCache, clock: () => Date): ServiceDeps {
  return { store, tokens: cache, clock } as unknown as ServiceDeps;
}

const refused = (error: unknown): boolean => error instanceof AppError && error.code === 'unauthenticated';

test('a bearer is hashed once while its token stays cached; unknown bearers are hashed every time and never kept', async () => {
  const { bearer, token } = await newBearer();
  const cache = new TokenCache(store);
  let hashes = 0;
  const counted = (b: string): string => (hashes++, hashToken(b));
  assert.equal(cache.peekBearer(bearer, counted), undefined, 'not cached yet');
  await cache.getTokenByHash(token.tokenHash);
  for (let i = 0; i < 100; i++) assert.equal(cache.peekBearer(bearer, counted)?.id, token.id);
  assert.equal(hashes, 2, 'the miss before caching, then one hash for 100 peeks');
  const unknown = `bgt_${randomBytes(32).toString('base64url')}`;
  for (let i = 0; i < 3; i++) assert.equal(cache.peekBearer(unknown, counted), undefined);
  assert.equal(hashes, 5);
  cache.stop();
});

test('a token expiring after it was cached under its bearer string is refused at once', async () => {
  let now = Date.now();
  const { bearer } = await newBearer(new Date(now + 60_000).toISOString());
  const cache = new TokenCache(store);
  const deps = authDeps(cache, () => new Date(now));
  assert.equal((await authenticate(deps, bearer, null)).principal, 'ci-gate');
  assert.equal(authenticateCached(deps, bearer, null)?.principal, 'ci-gate', 'answered from the cache by its bearer string');
  now += 60_000;
  assert.throws(() => authenticateCached(deps, bearer, null), refused, 'expiry is judged on every use');
  await assert.rejects(authenticate(deps, bearer, null), refused);
  cache.stop();
});

test('a token revoked after it was cached under its bearer string is refused at once', async () => {
  const { bearer, token } = await newBearer();
  const cache = new TokenCache(store);
  const deps = authDeps(cache, () => new Date());
  assert.equal((await authenticate(deps, bearer, null)).principal, 'ci-gate');
  assert.equal(authenticateCached(deps, bearer, null)?.principal, 'ci-gate');
  await store.transaction(async (tx) => {
    await tx.revokeToken(token.id, new Date().toISOString());
    await tx.appendLedger([ledgerEntry({ type: 'token_revoked', target: token.id })]);
  });
  assert.equal(authenticateCached(deps, bearer, null), undefined, 'the revocation dropped it: looked up again');
  await assert.rejects(authenticate(deps, bearer, null), refused, 'and the lookup finds it revoked');
  assert.equal(authenticateCached(deps, bearer, null), undefined, 'a revoked token is not cached again');
  cache.stop();
});
