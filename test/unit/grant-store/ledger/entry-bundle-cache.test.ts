import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../../../shared/bytes';
import { entryBundle, TILE_WIDTH } from '../../../../shared/ledger/tlog-tiles';
import { EntryBundleCache } from '../../../../grant-store/ledger/entry-bundle-cache';

const text = (seq: number) => `{"seq":${seq},"note":"entrée ${seq}"}`;

/** A ledger of `size` entries read as the store reads its texts, counting the reads. */
function ledger(size: number) {
  const reads: { from: number; count: number }[] = [];
  let fail = false;
  return {
    reads,
    failNext: () => (fail = true),
    texts: async (from: number, count: number) => {
      reads.push({ from, count });
      if (fail) {
        fail = false;
        throw new Error('disk on fire');
      }
      const out: string[] = [];
      for (let s = from; s < Math.min(from + count, size); s++) out.push(text(s));
      return out;
    },
  };
}

const expected = (index: number, width: number) => Buffer.from(entryBundle(Array.from({ length: width }, (_, k) => utf8(text(index * TILE_WIDTH + k)))));

/** Read bundle `index` twice (the second read is the one cached). */
async function twice(cache: EntryBundleCache, index: number): Promise<Buffer> {
  await cache.bundle(index, TILE_WIDTH);
  return cache.bundle(index, TILE_WIDTH);
}

test('a full bundle is cached on its second read and served from the cache after; partial ones are read every time', async () => {
  const l = ledger(3 * TILE_WIDTH + 10);
  const cache = new EntryBundleCache(l.texts);
  assert.ok((await cache.bundle(1, TILE_WIDTH)).equals(expected(1, TILE_WIDTH)));
  assert.equal(cache.cachedBytes, 0, 'a first read is not cached');
  assert.ok((await cache.bundle(1, TILE_WIDTH)).equals(expected(1, TILE_WIDTH)));
  assert.equal(cache.cachedBytes, expected(1, TILE_WIDTH).length);
  assert.ok((await cache.bundle(1, TILE_WIDTH)).equals(expected(1, TILE_WIDTH)));
  assert.deepEqual(l.reads, [{ from: 256, count: 256 }, { from: 256, count: 256 }]);
  await cache.bundle(2, TILE_WIDTH);
  const [a, b] = await Promise.all([cache.bundle(2, TILE_WIDTH), cache.bundle(2, TILE_WIDTH)]);
  assert.equal(a, b, 'concurrent second readers share one read');
  assert.equal(l.reads.length, 4);
  assert.ok((await cache.bundle(3, 10)).equals(expected(3, 10)));
  assert.ok((await cache.bundle(3, 10)).equals(expected(3, 10)));
  assert.ok((await cache.bundle(3, 7)).equals(expected(3, 7)));
  assert.equal(l.reads.length, 7);
  assert.equal(cache.cachedBytes, expected(1, TILE_WIDTH).length + expected(2, TILE_WIDTH).length);
});

test('only the last reads are remembered: a second read after too many others is a first read again', async () => {
  const l = ledger(4 * TILE_WIDTH);
  const cache = new EntryBundleCache(l.texts, undefined, 2);
  for (const index of [0, 1, 2, 0]) await cache.bundle(index, TILE_WIDTH);
  assert.equal(cache.cachedBytes, 0, '0 was forgotten when 2 was read');
  await cache.bundle(2, TILE_WIDTH);
  assert.equal(cache.cachedBytes, expected(2, TILE_WIDTH).length);
});

test('the cache keeps to its byte budget, dropping the least recently used bundle first', async () => {
  const l = ledger(10 * TILE_WIDTH);
  const one = expected(0, TILE_WIDTH).length;
  // Room for two bundles (they differ by a few bytes: the seq digits), not three.
  const cache = new EntryBundleCache(l.texts, 2 * one + 2 * TILE_WIDTH);
  await twice(cache, 0);
  await twice(cache, 1);
  await cache.bundle(0, TILE_WIDTH); // 0 is now the most recently used
  await twice(cache, 2); // drops 1
  assert.ok(cache.cachedBytes <= 2 * one + 2 * TILE_WIDTH);
  const before = l.reads.length;
  await cache.bundle(0, TILE_WIDTH);
  await cache.bundle(2, TILE_WIDTH);
  assert.equal(l.reads.length, before, '0 and 2 are cached');
  await cache.bundle(1, TILE_WIDTH);
  assert.equal(l.reads.length, before + 1, '1 was dropped');
  // A budget smaller than one bundle caches nothing.
  const none = new EntryBundleCache(l.texts, one - 1);
  await twice(none, 0);
  assert.equal(none.cachedBytes, 0);
});

test('a missing row is an internal error naming the range, and a failed read is retried, not cached', async () => {
  const l = ledger(TILE_WIDTH + 100);
  const cache = new EntryBundleCache(l.texts);
  await assert.rejects(cache.bundle(1, TILE_WIDTH), /ledger entries 256\.\.511 are not all stored/);
  await assert.rejects(cache.bundle(1, TILE_WIDTH), /ledger entries 256\.\.511 are not all stored/);
  await cache.bundle(0, TILE_WIDTH);
  l.failNext();
  await assert.rejects(cache.bundle(0, TILE_WIDTH), /disk on fire/);
  assert.equal(cache.cachedBytes, 0);
  assert.ok((await twice(cache, 0)).equals(expected(0, TILE_WIDTH)));
  assert.equal(cache.cachedBytes, expected(0, TILE_WIDTH).length);
});

test('several full bundles at once: the bundles concatenated, cached ones from memory and each run of the others one read; nothing admitted or remembered', async () => {
  const l = ledger(8 * TILE_WIDTH);
  const cache = new EntryBundleCache(l.texts);
  const concat = (first: number, count: number) => Buffer.concat(Array.from({ length: count }, (_, k) => expected(first + k, TILE_WIDTH)));
  assert.ok((await cache.run(0, 3)).equals(concat(0, 3)));
  assert.deepEqual(l.reads, [{ from: 0, count: 3 * TILE_WIDTH }], 'one read for the three');
  assert.equal(cache.cachedBytes, 0);
  // Bundles 0..2 were read by the run: a single read of one of them is still a first read.
  await cache.bundle(1, TILE_WIDTH);
  assert.equal(cache.cachedBytes, 0, 'a run marks nothing as seen');
  await cache.bundle(1, TILE_WIDTH); // now cached
  await twice(cache, 4);
  const cached = cache.cachedBytes;
  l.reads.length = 0;
  assert.ok((await cache.run(0, 7)).equals(concat(0, 7)));
  assert.deepEqual(l.reads, [{ from: 0, count: TILE_WIDTH }, { from: 2 * TILE_WIDTH, count: 2 * TILE_WIDTH }, { from: 5 * TILE_WIDTH, count: 2 * TILE_WIDTH }], 'around cached bundles 1 and 4');
  assert.equal(cache.cachedBytes, cached, 'a run admits nothing');
  assert.ok((await cache.run(4, 1)).equals(expected(4, TILE_WIDTH)));
  await assert.rejects(cache.run(6, 3), /ledger entries 1536\.\.2303 are not all stored/);
});
