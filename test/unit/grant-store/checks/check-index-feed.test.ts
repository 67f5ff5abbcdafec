import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CheckIndexFeed } from '../../../../grant-store/checks/check-index-feed';
import { SqliteStore } from '../../../../grant-store/storage/sqlite/sqlite-store';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';
import { storedActiveRequest } from '../../../support/stored-request';
import type { BypassRequest } from '../../../../shared/domain/request';

let dir: string;
let store: SqliteStore;
let feed: CheckIndexFeed;
const NOW = Date.now();

/** An active bypass (the shared stored-request fixture) on `repo` alone, under no standing scope. */
function active(repo: string): BypassRequest {
  return { ...storedActiveRequest(), scope: { repo }, standingScope: null };
}

const entry = (type: NewLedgerEntry['type'], request: BypassRequest): NewLedgerEntry =>
  ledgerEntry({ type, actor: 'bob', actorRole: 'approver', target: request.id, gate: request.gate, expiresAt: request.expiresAt });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-check-feed-'));
  store = SqliteStore.open(join(dir, 'breakglass.db'));
});
after(async () => {
  feed?.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('loads the active bypasses on start', async () => {
  const existing = active('svc-existing');
  await store.transaction((tx) => tx.insertRequest(existing));
  feed = new CheckIndexFeed(store, { resyncIntervalMs: 60_000 });
  await feed.start();
  assert.equal((await feed.match('ci-tests', { repo: 'svc-existing' }, NOW))?.id, existing.id);
  assert.equal(await feed.match('ci-tests', { repo: 'svc-other' }, NOW), undefined);
});

test('an activation is matched as soon as the activating transaction returns', async () => {
  const request = active('svc-new');
  await store.transaction(async (tx) => {
    await tx.insertRequest(request);
    await tx.appendLedger([entry('bypass_activated', request)]);
  });
  // No wait: a check right after the approval's response must see the bypass.
  assert.equal((await feed.match('ci-tests', { repo: 'svc-new' }, NOW))?.id, request.id);
});

test('revocation and expiry entries remove a bypass at once', async () => {
  const revoked = active('svc-revoked');
  const expired = active('svc-expired');
  await store.transaction(async (tx) => {
    await tx.insertRequest(revoked);
    await tx.insertRequest(expired);
    await tx.appendLedger([entry('bypass_activated', revoked), entry('bypass_activated', expired)]);
  });
  assert.ok(await feed.match('ci-tests', { repo: 'svc-revoked' }, NOW));
  await store.transaction(async (tx) => {
    await tx.updateRequest({ ...revoked, state: 'revoked' });
    await tx.appendLedger([entry('bypass_revoked', revoked)]);
    await tx.updateRequest({ ...expired, state: 'expired' });
    await tx.appendLedger([entry('bypass_expired', expired)]);
  });
  assert.equal(await feed.match('ci-tests', { repo: 'svc-revoked' }, NOW), undefined);
  assert.equal(await feed.match('ci-tests', { repo: 'svc-expired' }, NOW), undefined);
});

test('the periodic resync repairs what the events missed, both ways', async () => {
  const silent = active('svc-silent'); // activated with no ledger entry (a missed event)
  await store.transaction((tx) => tx.insertRequest(silent));
  const ghost = (await feed.match('ci-tests', { repo: 'svc-new' }, NOW))!;
  await store.transaction((tx) => tx.updateRequest({ ...ghost, state: 'revoked' })); // closed with no event
  assert.equal(await feed.match('ci-tests', { repo: 'svc-silent' }, NOW), undefined);
  assert.ok(await feed.match('ci-tests', { repo: 'svc-new' }, NOW));
  await feed.resync();
  assert.equal((await feed.match('ci-tests', { repo: 'svc-silent' }, NOW))?.id, silent.id);
  assert.equal(await feed.match('ci-tests', { repo: 'svc-new' }, NOW), undefined);
});
