import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AlertDispatcher } from '../../../grant-store/alerts/alert-dispatcher';
import { readCursor, readOutbox } from '../../../grant-store/alerts/outbox';
import { PgStore } from '../../../grant-store/storage/postgres/pg-store';
import { SqliteStore } from '../../../grant-store/storage/sqlite/sqlite-store';
import type { Store } from '../../../grant-store/storage/store';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import { PolicySchema } from '../../../shared/domain/policy';
import { createTempDatabase } from '../storage/pg-temp-database';
import { secretLookup } from '../../../grant-store/store-config';

/**
 * The outbox is durable: a delivery that failed before a restart is retried after it, keeps
 * its delivery id, is recorded once, and the ledger entry it came from is not turned into a
 * second delivery. Both backends (SQLite on a temp dir, PostgreSQL on a temp database), real
 * HTTP receiver on 127.0.0.1.
 */

let dir: string;
let receiver: Server;
let port: number;
let answer = 500;
const seen: { id: string; status: number; body: string }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-outbox-'));
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ id: String(req.headers['x-breakglass-delivery']), status: answer, body });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  port = (receiver.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((r) => receiver.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

const policy = () =>
  PolicySchema.parse({
    version: 1,
    tiers: { low: { approvals: 1, approverGroups: ['leads'], maxTtl: '24h' } },
    gates: [{ id: 'ci-tests', kind: 'slow', tier: 'low' }],
    teams: { payments: { members: ['alice'] } },
    approvers: { leads: ['bob'] },
    // unsigned on purpose: no secretEnv (the signed path is covered by health-signal.test.ts)
    webhooks: [{ id: 'siem', url: `http://127.0.0.1:${port}/hook`, events: ['bypass_activated'] }],
  });

function dispatcher(store: Store, nowMs: () => number): AlertDispatcher {
  return new AlertDispatcher({ store, policy, clock: () => new Date(nowMs()), findings: async () => [], retry: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 }, secrets: secretLookup({}) });
}

async function survivesRestart(open: () => Promise<Store>): Promise<void> {
  answer = 500;
  seen.length = 0;
  let now = Date.parse('2026-11-26T10:00:00.000Z');
  let store: Store = await open();
  await store.transaction((tx) =>
    tx.appendLedger([
      { time: new Date(now).toISOString(), type: 'bypass_activated', actor: 'bob', actorRole: 'approver', target: 'req_0123456789abcdef', gate: 'ci-tests', reason: 'suite hangs on the shared runner', incidentRef: null, approver: 'bob', expiresAt: new Date(now + 3_600_000).toISOString(), sourceAddress: '127.0.0.1', data: {} },
    ]),
  );
  const first = dispatcher(store, () => now);
  await first.pass();
  assert.deepEqual(seen.map((s) => s.status), [500]);
  const [pending] = await readOutbox(store);
  assert.equal(pending?.attempts, 1);
  assert.equal(pending?.lastError, 'HTTP 500');
  assert.equal(pending?.nextAttemptAt, new Date(now + 60_000).toISOString());
  // not due yet: a second pass sends nothing
  await first.pass();
  assert.equal(seen.length, 1);
  await first.stop();
  await store.close();

  // restart; the receiver is back; the retry is due
  answer = 200;
  now += 60_000;
  store = await open();
  const second = dispatcher(store, () => now);
  await second.pass();
  await second.pass();
  assert.deepEqual(seen.map((s) => s.status), [500, 200]);
  assert.equal(seen[0]?.id, seen[1]?.id, 'the same delivery id across the restart');
  assert.equal(seen[0]?.body, seen[1]?.body);
  assert.deepEqual(await readOutbox(store), []);
  const entries: LedgerEntry[] = await store.getLedgerEntries(0, 100);
  const delivered = entries.filter((e) => e.type === 'alert_delivered');
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0]?.data.deliveryId, seen[0]?.id);
  assert.equal(delivered[0]?.data.attempts, 2);
  assert.equal(delivered[0]?.data.signed, false);
  assert.equal(await readCursor(store), (entries.at(-1) as LedgerEntry).seq);
  await second.stop();
  await store.close();
}

test('SQLite: a pending delivery survives a restart: retried with the same id, recorded once, never re-enqueued', async () => {
  const path = join(dir, 'breakglass.db');
  await survivesRestart(async () => SqliteStore.open(path));
});

test('PostgreSQL: the same, on a temp database', async (t) => {
  const db = await createTempDatabase('bg_outbox');
  t.after(() => db.drop());
  await survivesRestart(() => PgStore.open({ databaseUrl: db.url }));
});

test('PostgreSQL: two instances on one database send each alert exactly once and record it once (the outbox is locked across instances)', async (t) => {
  const db = await createTempDatabase('bg_outbox2');
  t.after(() => db.drop());
  answer = 200;
  seen.length = 0;
  const now = Date.parse('2026-11-26T10:00:00.000Z');
  const stores = [await PgStore.open({ databaseUrl: db.url }), await PgStore.open({ databaseUrl: db.url })];
  t.after(async () => {
    for (const s of stores) await s.close();
  });
  // More activations than one pass delivers (16), each its own alert.
  const activations = 40;
  await stores[0]!.transaction((tx) =>
    tx.appendLedger(
      Array.from({ length: activations }, (_, i) => ({
        time: new Date(now).toISOString(), type: 'bypass_activated' as const, actor: 'bob', actorRole: 'approver' as const, target: `req_${i.toString(16).padStart(16, '0')}`, gate: 'ci-tests',
        reason: 'suite hangs on the shared runner', incidentRef: null, approver: 'bob', expiresAt: new Date(now + 3_600_000).toISOString(), sourceAddress: '127.0.0.1', data: {},
      })),
    ),
  );
  const dispatchers = stores.map((s) => dispatcher(s, () => now));
  // Both instances run their passes at the same time, as two stores woken by the same append do.
  for (let round = 0; round < 6; round++) await Promise.all(dispatchers.map((d) => d.pass()));
  for (const d of dispatchers) await d.stop();

  const ids = seen.map((s) => s.id);
  const subjects = seen.map((s) => (JSON.parse(s.body) as { subject?: string; data?: { requestId?: string } }).subject ?? '');
  assert.equal(new Set(ids).size, ids.length, `no delivery sent twice (${ids.length} sends, ${new Set(ids).size} distinct)`);
  assert.equal(ids.length, activations, 'every activation alerted, none lost');
  assert.equal(new Set(subjects).size, activations, 'one delivery per activation');
  const entries = await stores[0]!.getLedgerEntries(0, 1000);
  const delivered = entries.filter((e) => e.type === 'alert_delivered');
  assert.equal(delivered.length, activations, 'each delivery recorded once');
  assert.deepEqual(new Set(delivered.map((e) => e.data.deliveryId)), new Set(ids));
  assert.deepEqual(await readOutbox(stores[0]!), []);
});
