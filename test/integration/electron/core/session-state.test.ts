import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { composeConsole, type ConsoleCore } from '../../../../electron/core/compose-console';
import type { ConsoleNotification } from '../../../../electron/core/notifier';
import { pinCancelled } from '../../../../electron/core/pin-prompt';
import type { ConnectionState } from '../../../../shared/ipc/contract';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { memoryKeychain } from './memory-keychain';

/** The bound: a revoked token shows as "token rejected" within 2 s. */
const TOKEN_REJECTED_WITHIN_MS = 2_000;

/**
 * The session state machine against a real grant store: key not enrolled → connected when an admin
 * enrolls the key (noticed from the event stream, not a poll); a revoked token → token rejected
 * within 2 s, with one notification; the store stopping → reconnecting, then offline.
 */
describe('the console session state (connection tracker) against a real grant store', () => {
  let store: StoreFixture;
  let dataDir: string;
  let service: ConsoleCore;
  const notifications: ConsoleNotification[] = [];
  const states: ConnectionState[] = [];

  before(async () => {
    store = await startStoreFixture();
    dataDir = await mkdtemp(join(tmpdir(), 'bg-console-state-'));
    const keychain = memoryKeychain();
    service = composeConsole({
      dataDir,
      logger: pino({ level: 'silent' }),
      host: 'browser',
      pinPrompt: { ask: () => Promise.reject(pinCancelled()) },
      openVault: keychain.openVault,
      notify: (n) => notifications.push(n),
      sse: { initialBackoffMs: 50, maxBackoffMs: 200 },
    });
    service.subscribe((event, payload) => {
      if (event === 'console:renderer:connection-changed') states.push(payload as ConnectionState);
    });
    await service.start();
  });

  after(async () => {
    await service.stop();
    await store.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  function stateWhere(ready: (s: ConnectionState) => boolean, timeoutMs: number): Promise<{ state: ConnectionState; ms: number }> {
    const started = Date.now();
    if (ready(service.connectionState)) return Promise.resolve({ state: service.connectionState, ms: 0 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`state not reached in ${timeoutMs} ms; last: ${JSON.stringify(service.connectionState)}`));
      }, timeoutMs);
      const off = service.subscribe((event, payload) => {
        if (event !== 'console:renderer:connection-changed' || !ready(payload as ConnectionState)) return;
        clearTimeout(timer);
        off();
        resolve({ state: payload as ConnectionState, ms: Date.now() - started });
      });
    });
  }

  test('key not enrolled, then connected as soon as the admin enrolls it (the event stream says so)', async () => {
    const token = await store.token('erin', ['approver']);
    const session = await service.handlers['console:main:setup']({ storeUrl: store.url, token, key: { kind: 'software' } });
    assert.equal(session.connection.status, 'key_not_enrolled');
    assert.match(session.connection.statusText, /not enrolled/);
    await stateWhere((s) => s.online, 5_000);
    const enrolled = await store.call('POST', '/v1/admin/approvers/erin/keys', { token: store.adminToken, body: { publicKeyPem: session.key!.publicKeyPem } });
    assert.equal(enrolled.status, 201, enrolled.text);
    const { state } = await stateWhere((s) => s.status === 'connected', 5_000);
    assert.equal(state.statusText, 'Connected');
  });

  test('a revoked token shows as "token rejected" within 2 s, notified once, and actions are off', async () => {
    const tokens = await store.call('GET', '/v1/admin/tokens', { token: store.adminToken });
    const erin = (tokens.json.tokens as { id: string; principal: string; revokedAt: string | null }[]).find((t) => t.principal === 'erin' && !t.revokedAt)!;
    const revoking = Date.now();
    const revoked = await store.call('DELETE', `/v1/admin/tokens/${erin.id}`, { token: store.adminToken });
    assert.ok(revoked.status < 300, revoked.text);
    const { state } = await stateWhere((s) => s.status === 'token_rejected', TOKEN_REJECTED_WITHIN_MS + 1_000);
    const tookMs = Date.now() - revoking;
    assert.ok(tookMs <= TOKEN_REJECTED_WITHIN_MS, `token rejected after ${tookMs} ms`);
    assert.equal(state.online, false);
    assert.match(state.statusText, /sign in again/);
    const sessionNotes = notifications.filter((n) => n.kind === 'session');
    assert.equal(sessionNotes.length, 1);
    assert.match(sessionNotes[0]!.title, /token rejected/);
    // Reads stay possible from the local copy; a decision cannot be made with a rejected token.
    const again = await service.handlers['console:main:get-session']({});
    assert.equal(again.connection.status, 'token_rejected');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(notifications.filter((n) => n.kind === 'session').length, 1, 'notified once, not on every retry');
  });

  test('signing in again clears it; the store stopping shows reconnecting, then offline since T', async () => {
    await service.handlers['console:main:sign-out']({ forgetKey: false });
    const token = await store.token('erin', ['approver']);
    const session = await service.handlers['console:main:setup']({ storeUrl: store.url, token, key: { kind: 'software' } });
    assert.equal(session.connection.status, 'connected', 'the same key, already enrolled');
    await stateWhere((s) => s.online, 5_000);
    states.length = 0;
    await store.close();
    const { state } = await stateWhere((s) => s.status === 'offline', 10_000);
    assert.ok(state.offlineSince);
    assert.ok(states.some((s) => s.status === 'reconnecting'), 'a drop is first a retry');
    assert.equal(notifications.filter((n) => n.kind === 'session' && /unreachable/.test(n.title)).length, 1);
  });
});
