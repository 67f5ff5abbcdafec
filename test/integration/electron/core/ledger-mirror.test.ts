import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerEntry } from '../../../../shared/domain/ledger-entry';
import { fromBase64 } from '../../../../shared/bytes';
import { parseCheckpoint } from '../../../../shared/ledger/checkpoint';
import { LedgerMirror, type LedgerSource, type PublishedCheckpoint } from '../../../../electron/core/ledger-mirror';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { fileRequest, waitFor } from '../../grant-store/workflow-helpers';

let store: StoreFixture;
let dir: string;
let auditor: string;

/** The store as a LedgerSource, with an optional hook to tamper with what it serves. */
function storeSource(tamper?: (entries: LedgerEntry[]) => LedgerEntry[]): LedgerSource {
  return {
    entries: async (from, limit) => {
      const r = await store.call('GET', `/v1/ledger/entries?from=${from}&limit=${limit}`, { token: auditor });
      return { entries: tamper ? tamper(r.json.entries) : r.json.entries, treeSize: r.json.treeSize };
    },
    latestCheckpoint: async (): Promise<PublishedCheckpoint | null> => {
      const r = await store.call('GET', '/v1/ledger/checkpoint', { token: auditor });
      if (!r.json.checkpoint) return null;
      const cp = parseCheckpoint(String(r.json.checkpoint).split('\n\n')[0] + '\n');
      return { size: cp.size, rootHash: cp.rootHash, note: r.json.checkpoint, logKey: { origin: r.json.origin, publicKeyPem: 'pinned-in-this-test' } };
    },
  };
}

async function checkpointCovers(size: number): Promise<void> {
  await waitFor(async () => (await store.call('GET', '/v1/ledger/checkpoint', { token: auditor })).json.treeSize >= size, 5000, 50);
}

before(async () => {
  store = await startStoreFixture();
  dir = await mkdtemp(join(tmpdir(), 'bg-mirror-'));
  auditor = await store.token('erin', ['auditor']);
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('syncs incrementally, verifies against checkpoints, survives a restart, and serves queries offline', async () => {
  const alice = await store.token('alice', ['requester']);
  await fileRequest(store, alice);
  await checkpointCovers(await store.ledgerSize());
  const mirror = new LedgerMirror(join(dir, 'ok'));
  const first = await mirror.sync(storeSource());
  assert.ok(first.added > 0);
  assert.equal(mirror.verifiedTreeSize, mirror.size);

  await fileRequest(store, alice);
  await fileRequest(store, alice);
  const size = await store.ledgerSize();
  await checkpointCovers(size);
  const second = await mirror.sync(storeSource());
  assert.equal(second.added, size - first.added, 'only the new entries are fetched');
  assert.equal(mirror.verifiedTreeSize, size);

  // A fresh process reads the same mirror from disk, with no store at all.
  const reopened = new LedgerMirror(join(dir, 'ok'));
  await reopened.load();
  const page = reopened.query({ offset: 0, limit: 2 });
  assert.equal(page.total, size);
  assert.equal(page.entries[0]!.entry.seq, size - 1, 'newest first');
  assert.ok(page.entries.every((e) => e.verification === 'verified'));
  assert.equal(reopened.query({ type: 'request_created', offset: 0, limit: 100 }).total, 3);
});

test('an altered entry does not match the signed checkpoint: sync fails and unverified entries are marked failed', async () => {
  const size = await store.ledgerSize();
  await checkpointCovers(size);
  const mirror = new LedgerMirror(join(dir, 'tampered'));
  const altered = storeSource((entries) => entries.map((e) => (e.seq === 1 ? { ...e, actor: 'mallory' } : e)));
  await assert.rejects(mirror.sync(altered), (e: Error & { code?: string }) => e.code === 'verification_failed' && /does not match the store's signed checkpoint/.test(e.message));
  assert.equal(mirror.size, 0, 'nothing unverifiable is kept');
  assert.ok(mirror.failure);
});

test('a store that rewrites history after a verified sync is refused (the old entries are never re-read)', async () => {
  const mirror = new LedgerMirror(join(dir, 'rewrite'));
  await checkpointCovers(await store.ledgerSize());
  await mirror.sync(storeSource());
  const verified = mirror.verifiedTreeSize;
  // The store now presents a checkpoint for a longer log whose root commits to a different past.
  const dave = await store.token('dave', ['requester']);
  await fileRequest(store, dave);
  const real = storeSource();
  const forged: LedgerSource = {
    entries: real.entries,
    latestCheckpoint: async () => {
      const cp = await real.latestCheckpoint();
      if (!cp) return null;
      const root = new Uint8Array(cp.rootHash);
      root[0] = root[0]! ^ 0xff;
      return { ...cp, size: Math.max(cp.size, verified + 1), rootHash: root };
    },
  };
  await checkpointCovers(await store.ledgerSize());
  await assert.rejects(mirror.sync(forged), (e: Error & { code?: string }) => e.code === 'verification_failed');
  assert.equal(mirror.verifiedTreeSize, verified, 'the verified prefix stays what it was');
  const shrunk: LedgerSource = { entries: real.entries, latestCheckpoint: async () => ({ size: verified - 1, rootHash: fromBase64('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='), note: null, logKey: null }) };
  await assert.rejects(mirror.sync(shrunk), /the log shrank/);
});

test('a checkpoint signed while the entries were being fetched verifies them in the same sync', async () => {
  const alice = await store.token('alice', ['requester']);
  await checkpointCovers(await store.ledgerSize());
  const real = storeSource();
  const older = await real.latestCheckpoint();
  assert.ok(older);
  await fileRequest(store, alice);
  const size = await store.ledgerSize();
  await checkpointCovers(size);
  // The first read returns the checkpoint from before the new entries, as if it was read just
  // before the store signed the next one; later reads return the store's current one.
  let reads = 0;
  const racing: LedgerSource = { entries: real.entries, latestCheckpoint: async () => (reads++ === 0 ? older : real.latestCheckpoint()) };
  const mirror = new LedgerMirror(join(dir, 'racing'));
  await mirror.sync(racing);
  assert.equal(mirror.size, size);
  assert.equal(mirror.verifiedTreeSize, size, 'verified up to the checkpoint read after the fetch');
  assert.ok(mirror.query({ offset: 0, limit: 1 }).entries.every((e) => e.verification === 'verified'));

  // A later checkpoint that does not match the entries is still refused.
  const forgedLater: LedgerSource = {
    entries: real.entries,
    latestCheckpoint: async () => {
      if (reads++ % 2 === 0) return older;
      const cp = (await real.latestCheckpoint())!;
      const root = new Uint8Array(cp.rootHash);
      root[0] = root[0]! ^ 0xff;
      return { ...cp, rootHash: root };
    },
  };
  reads = 0;
  await assert.rejects(new LedgerMirror(join(dir, 'racing-forged')).sync(forgedLater), /does not match the store's signed checkpoint/);
});
