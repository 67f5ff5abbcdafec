import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TransparencyLog } from '../../../../grant-store/ledger/transparency-log';
import { PgStore } from '../../../../grant-store/storage/postgres/pg-store';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';
import { MemoryTree } from '../../../../shared/ledger/memory-tree';
import { verifyConsistency, verifyInclusion } from '../../../../shared/ledger/proofs';
import { nodeTreeHasher } from '../../../../shared/node/ledger/node-crypto';
import { createTempDatabase, type TempDatabase } from '../pg-temp-database';

/**
 * The transparency log on Postgres: its nodes and checkpoints live in the shared database, so a
 * second instance (or a restarted one) with an empty data dir serves the same tree and proofs.
 */

let db: TempDatabase;
let dirA: string;
let dirB: string;
const stores: PgStore[] = [];
const logs: TransparencyLog[] = [];

const entry = (i: number): NewLedgerEntry => ledgerEntry({ type: 'request_created', actor: 'alice', actorRole: 'requester', target: `t${i}`, gate: 'ci-tests', data: { i } });

before(async () => {
  db = await createTempDatabase('bg_logtables');
  dirA = await mkdtemp(join(tmpdir(), 'bg-log-a-'));
  dirB = await mkdtemp(join(tmpdir(), 'bg-log-b-'));
});
after(async () => {
  for (const log of logs) await log.close();
  for (const store of stores) await store.close();
  await db.drop();
  await rm(dirA, { recursive: true, force: true });
  await rm(dirB, { recursive: true, force: true });
});

test('two instances share one tree: same roots and valid proofs from either, nodes and checkpoints in Postgres', async () => {
  const a = await PgStore.open({ databaseUrl: db.url });
  stores.push(a);
  for (let i = 0; i < 37; i++) await a.transaction((tx) => tx.appendLedger([entry(i)]));
  const logA = await TransparencyLog.open({ store: a, dataDir: dirA, checkpointIntervalMs: 10 });
  logs.push(logA);
  await logA.checkpointNow();
  assert.equal(logA.latestCheckpoint()?.treeSize, 37);

  // The reference tree, from the entries' canonical bytes.
  const texts = await a.getLedgerEntryTexts(0, 1000);
  const reference = new MemoryTree(nodeTreeHasher, texts.map((t) => nodeTreeHasher.leaf(new TextEncoder().encode(t.text))));
  assert.deepEqual(logA.latestCheckpoint()!.rootHash, reference.root());

  // Instance B: another store and an empty data dir (same log key, as a fleet is configured).
  await copyFile(join(dirA, 'log-key.pem'), join(dirB, 'log-key.pem'));
  const b = await PgStore.open({ databaseUrl: db.url });
  stores.push(b);
  const shared = await b.openLogTables();
  assert.equal(await shared.leafCount(), 37, 'the leaf hashes are in Postgres');
  assert.equal(shared.latestCheckpoint()?.treeSize, 37, 'and so is A\'s checkpoint');
  assert.deepEqual((await shared.nodes([{ level: 0, index: 5 }])).get('0:5'), reference.perfect(0, 5));
  const logB = await TransparencyLog.open({ store: b, dataDir: dirB, checkpointIntervalMs: 10 });
  logs.push(logB);
  assert.equal(logB.size, 37);

  // Both append; both integrate everything.
  for (let i = 37; i < 60; i++) await (i % 2 ? a : b).transaction((tx) => tx.appendLedger([entry(i)]));
  await logA.checkpointNow();
  await logB.checkpointNow();
  const all = await a.getLedgerEntryTexts(0, 1000);
  const full = new MemoryTree(nodeTreeHasher, all.map((t) => nodeTreeHasher.leaf(new TextEncoder().encode(t.text))));
  for (const log of [logA, logB]) {
    const cp = log.latestCheckpoint()!;
    assert.equal(cp.treeSize, 60);
    assert.deepEqual(cp.rootHash, full.root());
    const inclusion = await log.inclusionProof(41, 60);
    verifyInclusion(nodeTreeHasher, 41, 60, full.perfect(0, 41), inclusion.hashes, cp.rootHash);
    const consistency = await log.consistencyProof(37, 60);
    verifyConsistency(nodeTreeHasher, 37, 60, consistency.hashes, reference.root(), cp.rootHash);
  }
  assert.deepEqual(await logA.leafHashes(0, 60), await logB.leafHashes(0, 60));
  assert.equal(existsSync(join(dirA, 'breakglass.db')) || existsSync(join(dirB, 'breakglass.db')), false, 'no SQLite file in the data dirs');
});

