import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GroupCommit } from '../../../../grant-store/checks/group-commit';
import { SqliteStore } from '../../../../grant-store/storage/sqlite/sqlite-store';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';

let dir: string;
let store: SqliteStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-group-commit-'));
  store = SqliteStore.open(join(dir, 'breakglass.db'));
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const entry = (target: string): NewLedgerEntry => ledgerEntry({ type: 'evaluation_under_bypass', actor: 'ci-gate', actorRole: 'gate', target, gate: 'ci-tests' });

test('concurrent calls share commits, and each gets its own committed result', async () => {
  const group = new GroupCommit(store);
  const commits: number[] = [];
  const unsubscribe = store.onLedgerAppended((entries) => commits.push(entries.length));
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => group.run(async (tx) => (await tx.appendLedger([entry(`t${i}`)]))[0]!)));
  unsubscribe();
  assert.deepEqual(results.map((e) => e.target), Array.from({ length: 100 }, (_, i) => `t${i}`));
  assert.equal(new Set(results.map((e) => e.seq)).size, 100);
  assert.equal(await store.ledgerSize(), 100);
  assert.ok(commits.length < 10, `100 calls took ${commits.length} commits`);
});

test('a failing call is reported to its caller alone; the others commit', async () => {
  const group = new GroupCommit(store);
  const before = await store.ledgerSize();
  const outcomes = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) =>
      group.run(async (tx) => {
        if (i === 3) throw new Error('not this one');
        return (await tx.appendLedger([entry(`u${i}`)]))[0]!.seq;
      }),
    ),
  );
  assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 1);
  assert.match(String((outcomes[3] as PromiseRejectedResult).reason), /not this one/);
  assert.equal((await store.ledgerSize()) - before, 9);
});
