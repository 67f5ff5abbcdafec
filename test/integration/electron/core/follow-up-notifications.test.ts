import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { composeConsole, type ConsoleCore } from '../../../../electron/core/compose-console';
import type { ConsoleNotification } from '../../../../electron/core/notifier';
import { pinCancelled } from '../../../../electron/core/pin-prompt';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { fileRequest, waitFor } from '../../grant-store/workflow-helpers';
import { memoryKeychain } from './memory-keychain';

/**
 * The follow-up notifications against a real grant store, each firing once: the requester's reply
 * to my question (pushed by the event stream), a bypass I approved ending within 10 minutes and a
 * review the store assigned to me (the time-driven pass the console runs on its tick).
 */
describe('follow-up notifications (reply, expiring, review) against a real grant store', () => {
  let store: StoreFixture;
  let dataDir: string;
  let service: ConsoleCore;
  let alice: string;
  const notifications: ConsoleNotification[] = [];
  const kinds = (kind: ConsoleNotification['kind']) => notifications.filter((n) => n.kind === kind);

  before(async () => {
    store = await startStoreFixture();
    dataDir = await mkdtemp(join(tmpdir(), 'bg-console-follow-'));
    alice = await store.token('alice', ['requester']);
    service = composeConsole({
      dataDir,
      logger: pino({ level: 'silent' }),
      host: 'browser',
      pinPrompt: { ask: () => Promise.reject(pinCancelled()) },
      openVault: memoryKeychain().openVault,
      notify: (n) => notifications.push(n),
      sse: { initialBackoffMs: 50, maxBackoffMs: 200 },
    });
    await service.start();
    const session = await service.handlers['console:main:setup']({ storeUrl: store.url, token: await store.token('bob', ['approver']), key: { kind: 'software' } });
    const enrolled = await store.call('POST', '/v1/admin/approvers/bob/keys', { token: store.adminToken, body: { publicKeyPem: session.key!.publicKeyPem } });
    assert.equal(enrolled.status, 201, enrolled.text);
    await waitFor(async () => service.connectionState.status === 'connected');
  });

  after(async () => {
    await service.stop();
    await store.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  test('the requester answering my question notifies me once', async () => {
    const request = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev3', scope: { repo: 'reply-app', branch: 'main' } });
    await service.handlers['console:main:ask']({ id: request.id, digest: request.digest, message: 'Which fixture is failing?' });
    const replied = await store.call('POST', `/v1/requests/${request.id}/reply`, { token: alice, body: { message: 'The payments sandbox fixture, since 09:00' } });
    assert.ok(replied.status < 300, replied.text);
    await waitFor(async () => kinds('reply').length === 1, 5_000);
    assert.equal(kinds('reply')[0]!.requestId, request.id);
    assert.match(kinds('reply')[0]!.title, /alice answered your question/);
    await service.refreshInbox();
    await service.followUp();
    assert.equal(kinds('reply').length, 1, 'once');
  });

  test('a bypass I approved ending within 10 minutes: once; its review is not mine (assigned to those who took no part)', async () => {
    // The store's clock 6 minutes behind ours: a 15-minute bypass approved now ends 9 minutes from our now.
    store.clock.advance(-6 * 60_000);
    const request = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev3', scope: { repo: 'expiring-app', branch: 'main' } });
    const approved = await service.handlers['console:main:approve']({ id: request.id, digest: request.digest, ttl: '15m', comment: 'short window' });
    assert.equal(approved.request.state, 'active');
    await service.followUp();
    assert.deepEqual(kinds('expiring').map((n) => n.requestId), [request.id]);
    await service.followUp();
    assert.equal(kinds('expiring').length, 1, 'once');

    await service.handlers['console:main:revoke']({ id: request.id, digest: request.digest, comment: 'done early' });
    await service.followUp();
    assert.equal(kinds('review').length, 0, 'bob approved it: the review goes to carol and dave');
  });

  test('a review the store assigns to me (carol approved, bob took no part): once', async () => {
    const carol = await store.approver('carol');
    const request = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev3', scope: { repo: 'assigned-app', branch: 'main' } });
    const approved = await store.call('POST', `/v1/requests/${request.id}/decisions`, { token: carol.token, body: { bundle: await store.sign(request, 'carol', carol.signer, 'approve', { ttl: '15m' }) } });
    assert.equal(approved.status, 200, approved.text);
    const revoked = await store.call('POST', `/v1/requests/${request.id}/decisions`, { token: carol.token, body: { bundle: await store.sign(approved.json.request, 'carol', carol.signer, 'revoke', { comment: 'done early' }) } });
    assert.equal(revoked.status, 200, revoked.text);
    const reviews = await service.handlers['console:main:list-reviews']({ state: 'review_open' });
    assert.deepEqual(reviews.reviews.find((r) => r.requestId === request.id)?.assignedTo, ['bob', 'dave']);
    await service.followUp();
    assert.deepEqual(kinds('review').map((n) => n.requestId), [request.id]);
    assert.match(kinds('review')[0]!.title, /Review assigned to you: ci-tests/);
    await service.followUp();
    assert.equal(kinds('review').length, 1, 'once');
  });
});
