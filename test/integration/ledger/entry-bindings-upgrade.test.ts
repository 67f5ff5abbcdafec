import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { initDataDir } from '../../../grant-store/admin/init';
import { main } from '../../../grant-store/cli/main';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { startGrantStore } from '../../../grant-store/http/server';
import { loadLogKey } from '../../../grant-store/ledger/log-key';
import { createStoreLogger } from '../../../grant-store/logger';
import { ENTRY_BINDING_SIZE, LEGACY_ENTRY_BINDING_SIZE, legacyEntryBindingMessage } from '../../../shared/ledger/entry-binding';
import { nodeTreeHasher } from '../../../shared/node/ledger/node-crypto';
import { utf8 } from '../../../shared/bytes';
import { createTempDatabase } from '../storage/pg-temp-database';

/**
 * A rolling upgrade from a release whose entry bindings were Ed25519 signatures (v1): with
 * BREAKGLASS_ENTRY_BINDINGS=v1 the new release writes bindings such a release accepts (checked
 * here the way it checks them: Ed25519 with the log's public key over the v1 statement) and says
 * so in its log; without it, it writes v2 MACs, and it starts on a database holding both.
 */

interface Row {
  seq: number;
  text: string;
  binding: Buffer | null;
}

interface Backend {
  name: string;
  setUp(dir: string): Promise<{ databaseUrl?: string; rows(): Promise<Row[]>; drop(): Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    async setUp(dir) {
      return {
        rows: async () => {
          const db = new Database(dataDirPaths(dir).databasePath, { readonly: true });
          try {
            return db.prepare('SELECT seq, entry_json AS text, binding FROM ledger_entries ORDER BY seq').all() as Row[];
          } finally {
            db.close();
          }
        },
        drop: async () => undefined,
      };
    },
  },
  {
    name: 'PostgreSQL',
    async setUp() {
      const db = await createTempDatabase('bg_bindings');
      return {
        databaseUrl: db.url,
        rows: async () => {
          const client = new pg.Client({ connectionString: db.url });
          await client.connect();
          try {
            return (await client.query<Row>('SELECT seq::int AS seq, entry_json AS text, binding FROM ledger_entries ORDER BY seq')).rows;
          } finally {
            await client.end();
          }
        },
        drop: () => db.drop(),
      };
    },
  },
];

for (const backend of BACKENDS) {
  describe(`entry bindings across a rolling upgrade (${backend.name})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    test('BREAKGLASS_ENTRY_BINDINGS=v1 writes Ed25519 bindings the previous release checks, and says so; unset, v2 MACs; a restart accepts both', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bg-bindings-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const db = await backend.setUp(dir);
      cleanups.push(db.drop);
      const { adminToken, logKeyPath } = await initDataDir(dir, { databaseUrl: db.databaseUrl });
      const publicKey = createPublicKey(await readFile(logKeyPath, 'utf8'));
      // The v1 statement names the log.
      const { origin } = await loadLogKey(logKeyPath, { originPath: dataDirPaths(dir).logOriginPath });

      let logged = '';
      const logger = createStoreLogger({ level: 'warn', destination: new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) }) });
      const run = async (env: NodeJS.ProcessEnv, principal: string) => {
        const store = await startGrantStore({ dataDir: dir, port: 0, databaseUrl: db.databaseUrl, logger, env });
        try {
          const res = await fetch(`${store.url}/v1/admin/tokens`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ principal, roles: ['requester'] }) });
          assert.equal(res.status, 201, await res.text());
        } finally {
          await store.close();
        }
      };

      const before = (await db.rows()).length;
      await run({ BREAKGLASS_ENTRY_BINDINGS: 'v1' }, 'alice');
      const v1Rows = (await db.rows()).slice(before);
      assert.ok(v1Rows.length > 0, 'minting a token appends to the ledger');
      for (const row of v1Rows) {
        assert.equal(row.binding?.length, LEGACY_ENTRY_BINDING_SIZE, `row ${row.seq}`);
        const leaf = nodeTreeHasher.leaf(utf8(row.text));
        assert.ok(verify(null, legacyEntryBindingMessage(origin, row.seq, leaf), publicKey, row.binding!), `row ${row.seq}: the previous release's check`);
      }
      assert.match(logged, /BREAKGLASS_ENTRY_BINDINGS=v1: this instance binds entries with Ed25519 signatures \(v1\)/);

      const mark = (await db.rows()).length;
      logged = '';
      await run({}, 'bob');
      const v2Rows = (await db.rows()).slice(mark);
      assert.ok(v2Rows.length > 0);
      for (const row of v2Rows) assert.equal(row.binding?.length, ENTRY_BINDING_SIZE, `row ${row.seq}`);
      assert.doesNotMatch(logged, /ENTRY_BINDINGS/);

      // Both kinds in one ledger: the next start's check passes and the store answers.
      await run({}, 'carol');
      assert.doesNotMatch(logged, /halt|tamper|refusing/i, logged);
    });
  });
}

describe('`breakglass admin init` binds its entries as BREAKGLASS_ENTRY_BINDINGS says', () => {
  test('v1: every entry it appends carries an Ed25519 binding; a bad value exits 2 naming the variable and writes nothing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bg-bindings-init-'));
    try {
      const dir = join(root, 'data');
      const io = { stdout: () => undefined, stderr: (t: string) => void (stderr += t) };
      let stderr = '';
      const bad = await main(['admin', 'init', '--data-dir', dir], io, { ...process.env, XDG_CONFIG_HOME: root, XDG_STATE_HOME: root, BREAKGLASS_ENTRY_BINDINGS: 'v0' });
      assert.equal(bad, 2, stderr);
      assert.match(stderr, /BREAKGLASS_ENTRY_BINDINGS: expected v1 \(during a rolling upgrade from a release before 2026-12-01\) or v2, got "v0"/);
      await assert.rejects(access(dir), 'nothing was written');

      stderr = '';
      const code = await main(['admin', 'init', '--data-dir', dir, '--json'], io, { ...process.env, XDG_CONFIG_HOME: root, XDG_STATE_HOME: root, BREAKGLASS_ENTRY_BINDINGS: 'v1' });
      assert.equal(code, 0, stderr);
      const db = new Database(dataDirPaths(dir).databasePath, { readonly: true });
      try {
        const sizes = (db.prepare('SELECT length(binding) AS n FROM ledger_entries').all() as { n: number }[]).map((r) => r.n);
        assert.ok(sizes.length > 0);
        assert.deepEqual([...new Set(sizes)], [LEGACY_ENTRY_BINDING_SIZE]);
      } finally {
        db.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
