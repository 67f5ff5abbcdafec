import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GroupCommit } from '../../../../grant-store/checks/group-commit';
import { batchSigningBinder } from '../../../../grant-store/ledger/binding-signer';
import { SqliteStore } from '../../../../grant-store/storage/sqlite/sqlite-store';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import { ed25519EntryBinder, nodeTreeHasher } from '../../../../shared/node/ledger/node-crypto';
import { utf8 } from '../../../../shared/bytes';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';

const ORIGIN = 'breakglass.example.com/deferred';
const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const plain = ed25519EntryBinder(ORIGIN, key);
const binder = batchSigningBinder(plain, { origin: ORIGIN, privateKeyPem: key });
let dir: string;
let store: SqliteStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-deferred-'));
  store = SqliteStore.open(join(dir, 'breakglass.db'), { binder });
  assert.equal(await binder.whenReady(), true);
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const warn = (target: string): NewLedgerEntry => ledgerEntry({ type: 'evaluation_under_bypass', actor: 'ci-gate', actorRole: 'gate', target, gate: 'ci-tests' });

/** Every row from `from` on: gap-free, its leaf the hash of its text, its binding the log key's. */
async function assertBound(from: number): Promise<number> {
  const rows = await store.getLedgerRows(from, 100_000);
  rows.forEach((row, i) => {
    assert.equal(row.seq, from + i);
    assert.equal(plain.verify(row.seq, nodeTreeHasher.leaf(utf8(row.text)), row.binding), true, `row ${row.seq} is bound by the log key`);
  });
  return rows.length;
}

describe('SQLite: a group commit of warns binds its entries in one batch off the event loop', () => {
  test('concurrent warns: every row is written, gap-free, each bound by the log key, each caller given its own seq', async () => {
    const group = new GroupCommit(store);
    const first = await store.ledgerSize();
    const told: number[] = [];
    const unsubscribe = store.onLedgerAppended((entries) => told.push(...entries.map((e) => e.seq)));
    const waves = [];
    for (let wave = 0; wave < 5; wave++) {
      waves.push(...Array.from({ length: 40 }, (_, i) => group.run(async (tx) => (await tx.appendLedger([warn(`w${wave}-${i}`)]))[0]!)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const entries = await Promise.all(waves);
    unsubscribe();
    assert.deepEqual(entries.map((e) => e.seq), Array.from({ length: 200 }, (_, i) => first + i));
    assert.deepEqual(told, entries.map((e) => e.seq));
    assert.equal(await assertBound(first), 200);
    for (const e of entries) assert.equal((await store.getLedgerEntries(e.seq, 1))[0]!.target, e.target);
  });

  test('a read inside the transaction sees the entries still waiting for their batch binding', async () => {
    const first = await store.ledgerSize();
    const seen = await store.transaction(async (tx) => {
      tx.deferBindings!();
      await tx.appendLedger([warn('r1'), warn('r2')]);
      const size = await tx.ledgerSize();
      const texts = await tx.getLedgerTextRange(first, 2);
      await tx.appendLedger([warn('r3')]);
      return { size, targets: texts.map((t) => (JSON.parse(t) as { target: string }).target) };
    });
    assert.deepEqual(seen, { size: first + 2, targets: ['r1', 'r2'] });
    assert.equal(await assertBound(first), 3);
  });

  test('a transaction that fails after deferring its appends writes nothing, and the next one takes its seqs', async () => {
    const first = await store.ledgerSize();
    await assert.rejects(
      store.transaction(async (tx) => {
        tx.deferBindings!();
        await tx.appendLedger([warn('lost')]);
        throw new Error('after the append');
      }),
      /after the append/,
    );
    assert.equal(await store.ledgerSize(), first);
    const [entry] = await store.transaction(async (tx) => {
      tx.deferBindings!();
      return tx.appendLedger([warn('kept')]);
    });
    assert.equal(entry!.seq, first);
    assert.equal(await assertBound(first), 1);
  });
});
