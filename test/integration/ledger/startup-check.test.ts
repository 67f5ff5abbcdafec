import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { checkStoreLedgerAtStart } from '../../../grant-store/ledger/ledger-guard';
import { loadLogKey, type LogKey } from '../../../grant-store/ledger/log-key';
import { TransparencyLog } from '../../../grant-store/ledger/transparency-log';
import { frontierNodes } from '../../../shared/ledger/compact-range';
import { legacyEntryBindingMessage, type EntryBinder } from '../../../shared/ledger/entry-binding';
import { PgStore } from '../../../grant-store/storage/postgres/pg-store';
import { SqliteStore } from '../../../grant-store/storage/sqlite/sqlite-store';
import type { NewLedgerEntry, Store } from '../../../grant-store/storage/store';
import { ledgerEntry } from '../../support/ledger-entry-fixture';
import { createTempDatabase } from '../storage/pg-temp-database';

/**
 * The start-up check compares the stored leaf hashes and the nodes of the tile levels (what
 * tiles and proofs are served from) with the recomputed tree inside the database, one query a
 * page (LogTables.compareNodes). On both backends, with a log past one level-8 subtree: a clean
 * store passes, a rewritten level-8 node and a deleted leaf hash are each refused.
 */

const N = 600;

/** Binds the way releases before 2026-12-01 did: an Ed25519 signature by the log key over the v1 statement. */
function v1Binder(origin: string, privateKeyPem: string): EntryBinder {
  const privateKey = createPrivateKey(privateKeyPem);
  return { origin, bind: (seq, leaf) => new Uint8Array(sign(null, legacyEntryBindingMessage(origin, seq, leaf), privateKey)), verify: () => true };
}
const entry = (i: number): NewLedgerEntry => ledgerEntry({ type: 'request_created', actor: 'alice', actorRole: 'requester', target: `req_s${i}`, gate: 'ci-tests', data: { i } });

/** Rewrite (`hash`) or delete (null) one ledger_nodes row behind the store's back, triggers off for the edit; answers the hash it held. */
type Tamper = (edit: { level: number; index: number; hash: Buffer | null }) => Promise<Buffer | null>;

interface Backend {
  name: string;
  open(dir: string, key: LogKey): Promise<{ store: Store; tamper: Tamper; close(): Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    async open(dir, key) {
      const path = join(dir, 'breakglass.db');
      const store = SqliteStore.open(path, { binder: key.binder });
      const tamper: Tamper = async ({ level, index, hash }) => {
        const db = new Database(path);
        try {
          db.exec('DROP TRIGGER IF EXISTS ledger_nodes_no_update; DROP TRIGGER IF EXISTS ledger_nodes_no_delete;');
          const before = (db.prepare('SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?').get(level, index) as { hash: Buffer } | undefined)?.hash ?? null;
          if (hash) db.prepare('INSERT OR REPLACE INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)').run(level, index, hash);
          else db.prepare('DELETE FROM ledger_nodes WHERE level = ? AND idx = ?').run(level, index);
          return before;
        } finally {
          db.close();
        }
      };
      return { store, tamper, close: () => store.close() };
    },
  },
  {
    name: 'PostgreSQL',
    async open(_dir, key) {
      const db = await createTempDatabase('bg_startup');
      const store = await PgStore.open({ databaseUrl: db.url, binder: key.binder });
      const tamper: Tamper = async ({ level, index, hash }) => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          await client.query('ALTER TABLE ledger_nodes DISABLE TRIGGER ledger_nodes_append_only');
          const before = (await client.query<{ hash: Buffer }>('SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2', [level, index])).rows[0]?.hash ?? null;
          await client.query('DELETE FROM ledger_nodes WHERE level = $1 AND idx = $2', [level, index]);
          if (hash) await client.query('INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3)', [level, index, hash]);
          await client.query('ALTER TABLE ledger_nodes ENABLE TRIGGER ledger_nodes_append_only');
          return before;
        } finally {
          await client.end();
        }
      };
      return {
        store,
        tamper,
        close: async () => {
          await store.close();
          await db.drop();
        },
      };
    },
  },
];

for (const backend of BACKENDS) {
  describe(`start-up check against the stored tree (${backend.name})`, { concurrency: false }, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    test(`${N} bound entries signed: clean; a rewritten level-8 node and a deleted leaf hash are each refused, and the restored store passes again`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bg-startup-check-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const key = await loadLogKey(join(dir, 'log-key.pem'));
      const { store, tamper, close } = await backend.open(dir, key);
      cleanups.push(close);
      for (let from = 0; from < N; from += 100) await store.transaction((tx) => tx.appendLedger(Array.from({ length: 100 }, (_, k) => entry(from + k))));
      const log = await TransparencyLog.open({ store, dataDir: dir, key });
      await log.close();

      const clean = await checkStoreLedgerAtStart(store, key);
      assert.equal(clean.halt, null, clean.halt?.reason);
      assert.deepEqual([clean.size, clean.checkpointSize], [N, N]);

      const node = await tamper({ level: 8, index: 1, hash: Buffer.alloc(32, 7) });
      assert.ok(node, 'the log stored node 8/1');
      const edited = await checkStoreLedgerAtStart(store, key);
      assert.deepEqual([edited.halt?.table, edited.halt?.seq], ['ledger_nodes', null]);
      assert.match(edited.halt!.reason, /the stored hash of tree level 8, index 1 \(rows 256\.\.511\) is not the hash of those rows: the node table was edited/);
      await tamper({ level: 8, index: 1, hash: node });

      const leaf = await tamper({ level: 0, index: 300, hash: null });
      const deleted = await checkStoreLedgerAtStart(store, key);
      assert.deepEqual([deleted.halt?.table, deleted.halt?.seq], ['ledger_nodes', 0]);
      assert.match(deleted.halt!.reason, /ledger_nodes holds 599 of the 600 leaf hashes of rows 0\.\.599 \(and 600 in all\): leaf hashes were deleted/);
      await tamper({ level: 0, index: 300, hash: leaf });

      const restored = await checkStoreLedgerAtStart(store, key);
      assert.equal(restored.halt, null, restored.halt?.reason);
    });

    test('a crash between two slices of the log\'s node writes: the store starts again, the log writes the missing nodes and signs; a node a checkpoint covers must still be there', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bg-startup-torn-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const key = await loadLogKey(join(dir, 'log-key.pem'));
      const { store, tamper, close } = await backend.open(dir, key);
      cleanups.push(close);
      await store.transaction((tx) => tx.appendLedger(Array.from({ length: N }, (_, k) => entry(k))));
      await (await TransparencyLog.open({ store, dataDir: dir, key })).close();
      await store.transaction((tx) => tx.appendLedger(Array.from({ length: 400 }, (_, k) => entry(N + k))));
      // The process dies in the second slice of the next node write (before its COMMIT): the
      // first slice's leaves and nodes are stored, the rest and the checkpoint are not.
      let persists = 0;
      const dying = new Proxy(store, {
        get(target, prop) {
          if (prop !== 'openLogTables') return Reflect.get(target, prop, target) as unknown;
          return async () => {
            const tables = await target.openLogTables();
            return new Proxy(tables, {
              get(t, p) {
                if (p === 'persist') return (...args: Parameters<typeof t.persist>) => (++persists === 2 ? Promise.reject(new Error('killed')) : t.persist(...args));
                const value = Reflect.get(t, p, t) as unknown;
                return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
              },
            });
          };
        },
      });
      await assert.rejects(TransparencyLog.open({ store: dying, dataDir: dir, key }), /killed/);
      // The torn state: leaves past the checkpoint whose nodes are not all stored. Make sure of it
      // wherever the first slice ended: cut just after an odd leaf (one that completes nodes),
      // before the nodes it completes (the log sets a leaf, then the nodes it completes).
      const tables = await store.openLogTables();
      let leaves = await tables.leafCount();
      assert.ok(leaves > N && leaves < N + 400, `some leaves past the checkpoint are stored (${leaves})`);
      if (leaves % 2 === 1) await tamper({ level: 0, index: --leaves, hash: null });
      for (let level = 1; level <= 9; level++) if (leaves % 2 ** level === 0) await tamper({ level, index: leaves / 2 ** level - 1, hash: null });
      const frontier = frontierNodes(leaves);
      assert.ok((await tables.nodes(frontier)).size < frontier.length, 'a node the stored leaves complete is missing');
      await tables.close();

      const check = await checkStoreLedgerAtStart(store, key);
      assert.equal(check.halt, null, check.halt?.reason);
      assert.deepEqual([check.size, check.checkpointSize], [N + 400, N]);
      const log = await TransparencyLog.open({ store, dataDir: dir, key });
      assert.equal(log.latestCheckpoint()?.treeSize, N + 400, 'the log integrated the rows again and signed them');
      await log.close();
      const after = await store.openLogTables();
      assert.equal((await after.nodes(frontierNodes(N + 400))).size, frontierNodes(N + 400).length);
      await after.close();
      const clean = await checkStoreLedgerAtStart(store, key);
      assert.equal(clean.halt, null, clean.halt?.reason);

      // A node under the checkpoint deleted is still the node table's tampering.
      const node = await tamper({ level: 8, index: 2, hash: null });
      assert.ok(node, 'the log stored node 8/2 (rows 512..767)');
      const deleted = await checkStoreLedgerAtStart(store, key);
      assert.equal(deleted.halt?.table, 'ledger_nodes');
      assert.match(deleted.halt!.reason, /ledger_nodes lacks hashes of tree level 8 from index \d+ on/);
    });

    test('rows past the checkpoint bound by an earlier release (Ed25519, v1) pass the start-up check; one the log key did not sign halts at it', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bg-startup-v1-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const key = await loadLogKey(join(dir, 'log-key.pem'));
      let binder = v1Binder(key.origin, await readFile(join(dir, 'log-key.pem'), 'utf8'));
      // The store as the old release ran it: every append bound v1.
      const old: LogKey = { ...key, binder: { origin: key.origin, bind: (seq, leaf) => binder.bind(seq, leaf), verify: (...args) => key.binder.verify(...args) } };
      const { store, close } = await backend.open(dir, old);
      cleanups.push(close);
      await store.transaction((tx) => tx.appendLedger(Array.from({ length: 300 }, (_, k) => entry(k))));
      const log = await TransparencyLog.open({ store, dataDir: dir, key: old });
      await log.close();
      // An unclean stop: 40 more rows appended and never signed into a checkpoint.
      await store.transaction((tx) => tx.appendLedger(Array.from({ length: 40 }, (_, k) => entry(300 + k))));

      const upgraded = await checkStoreLedgerAtStart(store, key);
      assert.equal(upgraded.halt, null, upgraded.halt?.reason);
      assert.deepEqual([upgraded.size, upgraded.checkpointSize, upgraded.boundRows], [340, 300, 40]);

      // Whoever writes the database with another key's v1 signature is refused at that row.
      binder = v1Binder(key.origin, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      await store.transaction((tx) => tx.appendLedger([entry(340)]));
      const forged = await checkStoreLedgerAtStart(store, key);
      assert.deepEqual([forged.halt?.table, forged.halt?.seq], ['ledger_entries', 340]);
      assert.match(forged.halt!.reason, /row 340 is past the last checkpoint \(300\) and its binding does not verify/);
    });
  });
}
