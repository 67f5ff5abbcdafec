import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalJson } from '../../../../shared/canonical-json';
import { AppError } from '../../../../shared/errors';
import { SqliteStore } from '../../../../grant-store/storage/sqlite/sqlite-store';
import { MIGRATIONS } from '../../../../grant-store/storage/sqlite/migrations';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';

function entry(n: number): NewLedgerEntry {
  return ledgerEntry({ time: '2026-06-22T03:14:07.000Z', type: 'policy_loaded', target: `t${n}`, data: { n } });
}

describe('SQLite store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-sqlite-'));
  const path = join(dir, 'breakglass.db');
  const store = SqliteStore.open(path);
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('durable settings: WAL and synchronous=FULL', () => {
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  test('ledger seq is dense from 0, entries are canonical and leaf hashes are RFC 6962', async () => {
    const seen: number[] = [];
    const off = store.onLedgerAppended((entries) => seen.push(...entries.map((e) => e.seq)));
    const appended = await store.transaction((tx) => tx.appendLedger([entry(0), entry(1)]));
    await store.transaction((tx) => tx.appendLedger([entry(2)]));
    off();
    assert.deepEqual(appended.map((e) => e.seq), [0, 1]);
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(await store.ledgerSize(), 3);
    const [text] = await store.getLedgerEntryTexts(1, 1);
    assert.equal(text?.text, canonicalJson({ ...entry(1), seq: 1 }));
    const [leaf] = await store.getLeafHashes(1, 1);
    const expected = createHash('sha256').update(Buffer.from([0])).update(text!.text).digest();
    assert.deepEqual(Buffer.from(leaf!), expected);
  });

  test('a failed transaction writes nothing and notifies nobody', async () => {
    const before = await store.ledgerSize();
    let notified = false;
    const off = store.onLedgerAppended(() => (notified = true));
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.appendLedger([entry(9)]);
        await tx.setMeta('k', 'v');
        throw new Error('boom');
      }),
      /boom/,
    );
    off();
    assert.equal(await store.ledgerSize(), before);
    assert.equal(await store.getMeta('k'), undefined);
    assert.equal(notified, false);
  });

  test('reads outside a transaction see only committed data', async () => {
    let inside = -1;
    let outside = -1;
    const before = await store.ledgerSize();
    await store.transaction(async (tx) => {
      await tx.appendLedger([entry(10)]);
      inside = await tx.ledgerSize();
      outside = await store.ledgerSize();
    });
    assert.equal(inside, before + 1);
    assert.equal(outside, before);
  });

  test('concurrent transactions are serialized: no duplicate or missing seq', async () => {
    const before = await store.ledgerSize();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.transaction((tx) => tx.appendLedger([entry(100 + i)]))));
    const texts = await store.getLedgerEntryTexts(0, 1000);
    assert.equal(texts.length, before + 20);
    texts.forEach((t, i) => assert.equal(t.seq, i));
  });

  test('group commit: concurrent transactions share commits; a failing one rolls back alone', async () => {
    const before = await store.ledgerSize();
    const batches: number[] = [];
    const off = store.onLedgerAppended((entries) => batches.push(entries.length));
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        store.transaction(async (tx) => {
          await tx.appendLedger([entry(200 + i)]);
          if (i % 7 === 3) throw new Error(`tx ${i} fails`);
          return i;
        }),
      ),
    );
    off();
    const failed = results.filter((r) => r.status === 'rejected').length;
    assert.equal(failed, 4);
    assert.equal(await store.ledgerSize(), before + 26);
    assert.equal(batches.reduce((a, b) => a + b, 0), 26);
    assert.ok(batches.length < 26, `expected fewer commits than transactions, got ${batches.length}`);
    const texts = await store.getLedgerEntryTexts(before, 100);
    const ns = texts.map((t) => (JSON.parse(t.text) as { data: { n: number } }).data.n);
    assert.ok(!ns.some((n) => (n - 200) % 7 === 3), 'no entry of a failed transaction survives');
    texts.forEach((t, i) => assert.equal(t.seq, before + i));
  });

  test('UPDATE and DELETE on the ledger are rejected by triggers, even straight into the file', () => {
    const db = new Database(path);
    assert.throws(() => db.prepare("UPDATE ledger_entries SET entry_json = '{}' WHERE seq = 0").run(), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM ledger_entries WHERE seq = 0').run(), /append-only/);
    db.close();
  });

  test('replayed decisions and duplicate reviews/keys are refused as conflicts', async () => {
    const request = {
      id: 'req_00000000000000000000000001', requester: 'alice', team: 'payments', gate: 'ci-tests', scope: { repo: 'x' }, reason: 'r'.repeat(20), incidentRef: null, severity: 'sev3' as const, ttl: '1h', extends: null, createdAt: '2026-06-22T03:14:07.000Z',
      digest: `sha256:${'0'.repeat(64)}`, state: 'pending' as const, tier: 'low', gateKind: 'slow' as const, approvalsRequired: 1, approvals: [], messages: [], standingScope: null, bypassId: null, approvedTtl: null, activatedAt: null, expiresAt: null, closedAt: null, lapsesAt: null, updatedAt: '2026-06-22T03:14:07.000Z', closeComment: null, closedBy: null,
    };
    await store.transaction((tx) => tx.insertRequest(request));
    const decision = { requestId: request.id, decision: 'approve' as const, approver: 'bob', keyId: 'k', comment: '', ttl: '1h', at: request.createdAt, seq: 0, signatureDigest: 'sha256:aa', nonce: 'n1', bundle: {} as never };
    await store.transaction((tx) => tx.insertDecision(decision));
    assert.equal(await store.decisionReplayed('sha256:aa', 'zz'), true);
    assert.equal(await store.decisionReplayed('sha256:bb', 'n1'), true);
    assert.equal(await store.decisionReplayed('sha256:bb', 'n2'), false);
    await assert.rejects(store.transaction((tx) => tx.insertDecision({ ...decision, seq: 1 })), (e: unknown) => e instanceof AppError && e.code === 'conflict');
    await assert.rejects(store.transaction((tx) => tx.insertDecision({ ...decision, seq: 2, signatureDigest: 'sha256:cc' })), (e: unknown) => e instanceof AppError && e.code === 'conflict');
  });

  test('migrations are versioned and idempotent on reopen', async () => {
    const again = SqliteStore.open(path);
    const size = await again.ledgerSize();
    await again.close();
    const db = new Database(path, { readonly: true });
    assert.deepEqual(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all(), MIGRATIONS.map((m) => ({ version: m.version })));
    db.close();
    assert.equal(size, await store.ledgerSize());
  });

  test('a database from an older release is brought up to date on open (deadline indexes added)', async () => {
    const oldPath = join(dir, 'old.db');
    const old = new Database(oldPath);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    old.exec(MIGRATIONS[0]!.sql);
    old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, ?, ?)').run(MIGRATIONS[0]!.name, new Date().toISOString());
    old.close();
    const upgraded = SqliteStore.open(oldPath);
    await upgraded.close();
    const db = new Database(oldPath, { readonly: true });
    assert.deepEqual(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all(), MIGRATIONS.map((m) => ({ version: m.version })));
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('requests_active_expiry', 'requests_open_lapse') ORDER BY name").all();
    assert.deepEqual(indexes, [{ name: 'requests_active_expiry' }, { name: 'requests_open_lapse' }]);
    db.close();
  });

  test('the log tables come from migration 9; a store whose log made them itself keeps their rows', async () => {
    const oldPath = join(dir, 'log-made.db');
    const old = new Database(oldPath);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version < 9)) {
      old.exec(m.sql);
      m.after?.(old);
      old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }
    // What the log ran on open before migration 9 (its tables and one node).
    old.exec(MIGRATIONS.find((m) => m.version === 9)!.sql);
    old.prepare('INSERT INTO ledger_nodes (level, idx, hash) VALUES (0, 0, ?)').run(Buffer.alloc(32, 7));
    old.close();
    const upgraded = SqliteStore.open(oldPath);
    const tables = await upgraded.openLogTables();
    assert.equal(await tables.leafCount(), 1);
    assert.deepEqual((await tables.nodes([{ level: 0, index: 0 }])).get('0:0'), new Uint8Array(Buffer.alloc(32, 7)));
    // Written through the store's writer, read back on its reader: no connection of the log's own.
    await tables.persist(new Map([['0:1', new Uint8Array(32).fill(8)]]), { size: 2, root: new Uint8Array(32).fill(9), note: 'note', signedAt: '2026-06-22T03:14:07.000Z' });
    assert.equal(await tables.leafCount(), 2);
    assert.equal(tables.latestCheckpoint()?.treeSize, 2);
    await tables.close();
    await upgraded.close();
    const db = new Database(oldPath, { readonly: true });
    assert.deepEqual(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all(), MIGRATIONS.map((m) => ({ version: m.version })));
    db.close();
    const writable = new Database(oldPath);
    assert.throws(() => writable.prepare('DELETE FROM ledger_checkpoints').run(), /append-only: DELETE rejected/);
    writable.close();
  });
});
