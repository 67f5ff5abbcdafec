import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TileCache } from '../../../grant-store/ledger/tile-cache';
import { TransparencyLog } from '../../../grant-store/ledger/transparency-log';
import { PgStore } from '../../../grant-store/storage/postgres/pg-store';
import { SqliteStore } from '../../../grant-store/storage/sqlite/sqlite-store';
import type { LogTables } from '../../../grant-store/storage/log-tables';
import type { NewLedgerEntry, Store } from '../../../grant-store/storage/store';
import { MemoryTree } from '../../../shared/ledger/memory-tree';
import { consistencyProof, inclusionProof, treeRoot, verifyConsistency, verifyInclusion } from '../../../shared/ledger/proofs';
import { nodeTreeHasher as hasher } from '../../../shared/node/ledger/node-crypto';
import { ledgerEntry } from '../../support/ledger-entry-fixture';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';

/**
 * Proofs answered from tiles are the proofs clients always got: for every tree size around the
 * tile boundaries (255, 256, 257, 511, 512, 513, …) the inclusion and consistency proofs and the
 * roots the log serves equal the ones computed from the whole tree in memory (MemoryTree, every
 * node), on SQLite and on PostgreSQL, and verify. The tile cache answers the same when it may
 * keep a single tile (every read evicts).
 */

const N = 600;
const SIZES = [1, 2, 3, 7, 8, 255, 256, 257, 300, 511, 512, 513, 599, 600];
const entry = (i: number): NewLedgerEntry => ledgerEntry({ type: 'request_created', actor: 'alice', actorRole: 'requester', target: `req_t${i}`, gate: 'ci-tests', data: { i } });
const b64 = (hashes: Uint8Array[]) => hashes.map((h) => Buffer.from(h).toString('base64'));

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function fill(store: Store): Promise<MemoryTree> {
  for (let from = 0; from < N; from += 100) await store.transaction((tx) => tx.appendLedger(Array.from({ length: 100 }, (_, k) => entry(from + k))));
  const texts = await store.getLedgerEntryTexts(0, N);
  return new MemoryTree(hasher, texts.map((t) => hasher.leaf(new TextEncoder().encode(t.text))));
}

async function checkProofs(store: Store): Promise<void> {
  const tree = await fill(store);
  const dir = await mkdtemp(join(tmpdir(), 'bg-tile-proofs-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const log = await TransparencyLog.open({ store, dataDir: dir, checkpointIntervalMs: 10 });
  cleanups.push(() => log.close());
  await log.checkpointNow();
  assert.equal(log.latestCheckpoint()?.treeSize, N);
  assert.deepEqual(log.latestCheckpoint()!.rootHash, tree.root());

  for (const size of SIZES) {
    const root = treeRoot(hasher, tree, size);
    for (const seq of new Set([0, 1, size >> 1, size - 2, size - 1].filter((s) => s >= 0 && s < size))) {
      const served = await log.inclusionProof(seq, size);
      assert.deepEqual(b64(served.hashes), b64(inclusionProof(hasher, tree, seq, size)), `inclusion ${seq} in ${size}`);
      assert.deepEqual(served.rootHash, root);
      assert.deepEqual(served.leafHash, tree.perfect(0, seq));
      verifyInclusion(hasher, seq, size, served.leafHash, served.hashes, served.rootHash);
    }
    for (const from of SIZES.filter((s) => s <= size)) {
      const served = await log.consistencyProof(from, size);
      assert.deepEqual(b64(served.hashes), b64(consistencyProof(hasher, tree, from, size)), `consistency ${from} → ${size}`);
      assert.deepEqual(served.fromRoot, treeRoot(hasher, tree, from));
      assert.deepEqual(served.toRoot, root);
      verifyConsistency(hasher, from, size, served.hashes, served.fromRoot, served.toRoot);
    }
  }
  // Past the checkpoint: refused as before.
  await assert.rejects(async () => log.inclusionProof(0, N + 1), /no signed checkpoint covers tree size 601/);

  // A cache of one tile: every level-0 and level-1 node of the tree, hashed from tiles, is the tree's.
  const tables: LogTables = await store.openLogTables();
  const tiny = new TileCache(tables, hasher, 1);
  for (let level = 0; 2 ** level <= N; level++) {
    const keys = Array.from({ length: Math.floor(N / 2 ** level) }, (_, index) => ({ level, index }));
    const source = await tiny.nodes(keys, N);
    for (const k of keys) assert.deepEqual(source.perfect(k.level, k.index), tree.perfect(k.level, k.index), `node ${k.level}/${k.index}`);
  }
  assert.equal(Buffer.from(await tiny.tileHashes(1, 0, 2)).toString('hex'), Buffer.concat([tree.perfect(8, 0), tree.perfect(8, 1)]).toString('hex'), 'tile 1/000.p/2 holds the level-8 hashes');
}

describe('proofs answered from tiles equal the whole-tree proofs', { concurrency: false }, () => {
  test('SQLite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-tile-proofs-db-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const store = SqliteStore.open(join(dir, 'breakglass.db'));
    cleanups.push(() => store.close());
    await checkProofs(store);
  });

  test('PostgreSQL', async () => {
    const db: TempDatabase = await createTempDatabase('bg_tileproofs');
    cleanups.push(() => db.drop());
    const store = await PgStore.open({ databaseUrl: db.url });
    cleanups.push(() => store.close());
    await checkProofs(store);
  });
});
