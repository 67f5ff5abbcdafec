import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import { generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import { runCli, startServe, type ServeProcess } from '../cli/cli-harness';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { fileAndDecide, startLedgerWorld, type LedgerWorld } from './ledger-harness';

/**
 * The tamper suite (issue 11): someone with write access to the SQLite file edits it while the
 * store is stopped; the real `breakglass serve` process then starts on it. Every edit of state
 * the gate obeys is a tamper alarm at start (checks block naming the halt, /healthz 503, the
 * metric, `ledger verify` exits 1 naming table, row and seq); rows appended behind the store's
 * back, wiped log tables and a deleted last row are refused at start and never signed.
 * One store is built once; each case edits its own copy of the data directory.
 */

interface Halted {
  since: string;
  seq: number | null;
  table: string;
  reason: string;
}

describe('tamper suite: the store refuses a database edited behind its back (SQLite, real serve process)', { concurrency: false }, () => {
  let world: LedgerWorld;
  let base = '';
  let cases = '';
  let entries: LedgerEntry[] = [];
  let approved = '';
  let revokedKey = '';
  let n = 0;

  before(async () => {
    world = await startLedgerWorld();
    approved = await fileAndDecide(world, 'bob', 'approve');
    await fileAndDecide(world, 'carol', 'deny');
    // A key enrolled and revoked: un-revoking it is one of the attacks.
    const extra = await world.api<{ keyId: string }>('admin', 'POST', '/v1/admin/approvers/carol/keys', { publicKeyPem: generateSoftwareKeyPair().publicKeyPem });
    assert.equal(extra.status, 201, JSON.stringify(extra.body));
    revokedKey = extra.body.keyId;
    assert.equal((await world.api('admin', 'DELETE', `/v1/admin/approvers/carol/keys/${revokedKey}`)).status, 200);
    entries = (await world.api<{ entries: LedgerEntry[] }>('erin', 'GET', '/v1/ledger/entries?limit=1000')).body.entries;
    // A clean shutdown signs a checkpoint over every entry.
    await world.store.close();
    base = world.dataDir;
    cases = await mkdtemp(join(tmpdir(), 'breakglass-tamper-'));
  });

  after(async () => {
    if (cases) await rm(cases, { recursive: true, force: true });
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  /** A fresh copy of the data dir, edited with `sql` straight in the file. */
  async function tampered(sql: (db: Database.Database) => void): Promise<string> {
    const dir = join(cases, `case-${++n}`);
    await cp(base, dir, { recursive: true });
    const db = new Database(join(dir, 'breakglass.db'));
    try {
      sql(db);
    } finally {
      db.close();
    }
    return dir;
  }

  async function get<T>(serve: ServeProcess, who: string, path: string): Promise<{ status: number; body: T; text: string }> {
    const res = await fetch(serve.url + path, { headers: who ? { authorization: `Bearer ${world.tokens[who]}` } : {} });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // /metrics is Prometheus text, not JSON.
    }
    return { status: res.status, body: body as T, text };
  }

  /** Start serve on `dir` and assert the halt is loud everywhere; returns it. */
  async function expectHalt(dir: string, expected: { table: string; seq: number | null; reason: RegExp; verify?: boolean }): Promise<Halted> {
    const serve = await startServe(['--data-dir', dir, '--port', '0']);
    try {
      const health = await get<{ ok: boolean; halted: Halted; message: string }>(serve, '', '/healthz');
      assert.equal(health.status, 503, health.text);
      const halted = health.body.halted;
      assert.deepEqual([halted.table, halted.seq], [expected.table, expected.seq], health.text);
      assert.match(halted.reason, expected.reason);
      assert.match(health.body.message, new RegExp(`^log halted since \\S+${expected.seq === null ? '' : ` at seq ${expected.seq}`}: `));

      // Every check blocks, even the one the approved bypass covers, naming the halt.
      const check = await fetch(`${serve.url}/v1/checks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${world.tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ gate: 'ci-tests', subject: { repo: 'payments-api', branch: 'main' } }),
      });
      const verdict = (await check.json()) as { verdict: string; message: string };
      assert.equal(verdict.verdict, 'block', JSON.stringify(verdict));
      assert.match(verdict.message, /log halted since/);

      const metrics = await get<string>(serve, 'erin', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /^breakglass_ledger_halted 1$/m);

      const checkpoint = await get<{ halted: Halted | null; treeSize: number }>(serve, 'erin', '/v1/ledger/checkpoint');
      assert.deepEqual(checkpoint.body.halted, halted);

      if (expected.verify !== false) {
        const v = await runCli(['ledger', 'verify', '--json'], { BREAKGLASS_STORE: serve.url, BREAKGLASS_TOKEN: world.tokens.erin, XDG_STATE_HOME: join(dir, 'client-state') });
        assert.equal(v.code, 1, v.stdout + v.stderr);
        const out = JSON.parse(v.stdout) as { ok: boolean; halted: string };
        assert.equal(out.ok, false);
        assert.match(out.halted, new RegExp(`^log halted since \\S+ at seq ${expected.seq ?? '\\?'}: `));
        assert.match(out.halted, expected.reason);
      }
      return halted;
    } finally {
      await serve.stop();
    }
  }

  const lastFor = (target: string, pick: (e: LedgerEntry) => boolean) => entries.filter((e) => e.target === target && pick(e)).at(-1)!.seq;

  test('an untouched copy starts clean: /healthz 200, the approved bypass warns, the metric is 0', async () => {
    const dir = await tampered(() => {});
    const serve = await startServe(['--data-dir', dir, '--port', '0']);
    try {
      assert.equal((await get(serve, '', '/healthz')).status, 200);
      assert.match((await get<string>(serve, 'erin', '/metrics')).text, /^breakglass_ledger_halted 0$/m);
      const check = await fetch(`${serve.url}/v1/checks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${world.tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ gate: 'ci-tests', subject: { repo: 'payments-api', branch: 'main' } }),
      });
      assert.equal(((await check.json()) as { verdict: string }).verdict, 'warn');
    } finally {
      await serve.stop();
    }
  });

  test('bypass window extended (requests.expires_at): alarm naming the table, row, field and the activation seq', async () => {
    const dir = await tampered((db) => db.prepare("UPDATE requests SET expires_at = '2099-01-01T00:00:00.000Z' WHERE id = ?").run(approved));
    await expectHalt(dir, { table: 'requests', seq: lastFor(approved, (e) => e.expiresAt !== null && e.expiresAt !== undefined), reason: new RegExp(`table requests, row ${approved}, field column expires_at`) });
  });

  test('reason rewritten in requests.doc: alarm naming the field and the request_created seq', async () => {
    const dir = await tampered((db) => {
      const row = db.prepare('SELECT doc FROM requests WHERE id = ?').get(approved) as { doc: string };
      const doc = JSON.parse(row.doc) as Record<string, unknown>;
      db.prepare('UPDATE requests SET doc = ? WHERE id = ?').run(JSON.stringify({ ...doc, reason: 'Routine maintenance, nothing to see' }), approved);
    });
    await expectHalt(dir, { table: 'requests', seq: lastFor(approved, (e) => e.type === 'request_created'), reason: new RegExp(`table requests, row ${approved}, field reason`), verify: false });
  });

  test('approver swapped in decisions.approver: alarm naming the decision row and its seq', async () => {
    const decisionSeq = lastFor(approved, (e) => e.type === 'decision');
    const dir = await tampered((db) => db.prepare("UPDATE decisions SET approver = 'mallory' WHERE seq = ?").run(decisionSeq));
    await expectHalt(dir, { table: 'decisions', seq: decisionSeq, reason: new RegExp(`table decisions, row ${decisionSeq}, field approver: holds "mallory"`), verify: false });
  });

  test('key revocation erased (keys.revoked_at = NULL): alarm naming the key and the key_revoked seq', async () => {
    const dir = await tampered((db) => db.prepare('UPDATE keys SET revoked_at = NULL WHERE key_id = ?').run(revokedKey));
    await expectHalt(dir, { table: 'keys', seq: entries.filter((e) => e.type === 'key_revoked').at(-1)!.seq, reason: new RegExp(`table keys, row ${revokedKey}, field revokedAt`), verify: false });
  });

  test('token role raised (tokens.roles): alarm naming the token and its principal_enrolled seq', async () => {
    const enrolled = entries.find((e) => e.type === 'principal_enrolled' && e.target === 'alice')!;
    const tokenId = (enrolled.data as { tokenId: string }).tokenId;
    const dir = await tampered((db) => db.prepare('UPDATE tokens SET roles = \'["admin","requester"]\' WHERE id = ?').run(tokenId));
    await expectHalt(dir, { table: 'tokens', seq: enrolled.seq, reason: new RegExp(`table tokens, row ${tokenId}, field roles`), verify: false });
  });

  test('a forged enrollment and decision appended to ledger_entries: refused at start with the first unbound seq, never signed', async () => {
    const size = entries.length;
    const enrol = entries.find((e) => e.type === 'key_enrolled')!;
    const decision = entries.find((e) => e.type === 'decision')!;
    const forged = [
      { ...enrol, seq: size, target: 'key-forged', data: { ...(enrol.data as object), keyId: 'key-forged' } },
      { ...decision, seq: size + 1 },
    ];
    const dir = await tampered((db) => {
      const insert = db.prepare('INSERT INTO ledger_entries (seq, time, type, target, entry_json, leaf_hash) VALUES (?, ?, ?, ?, ?, ?)');
      for (const e of forged) insert.run(e.seq, e.time, e.type, e.target, JSON.stringify(e), Buffer.alloc(32));
    });
    await expectHalt(dir, { table: 'ledger_entries', seq: size, reason: new RegExp(`row ${size} is past the last checkpoint \\(${size}\\) and carries no binding`), verify: false });
    const db = new Database(join(dir, 'breakglass.db'), { readonly: true });
    try {
      const top = db.prepare('SELECT MAX(tree_size) AS n FROM ledger_checkpoints').get() as { n: number };
      assert.equal(top.n, size, 'no checkpoint covers the forged rows');
    } finally {
      db.close();
    }
  });

  test('ledger_nodes wiped: refused at start', async () => {
    const dir = await tampered((db) => db.exec('DROP TRIGGER ledger_nodes_no_delete; DELETE FROM ledger_nodes;'));
    await expectHalt(dir, { table: 'ledger_nodes', seq: 0, reason: /ledger_nodes holds 0 leaf hashes but the latest checkpoint covers \d+: the node table was wiped/, verify: false });
  });

  test('one stored leaf hash rewritten in ledger_nodes (the rows untouched): refused at start, naming the row', async () => {
    const dir = await tampered((db) => db.exec('DROP TRIGGER ledger_nodes_no_update; UPDATE ledger_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 3;'));
    await expectHalt(dir, { table: 'ledger_nodes', seq: 3, reason: /the stored leaf hash of row 3 is not the hash of the row/, verify: false });
  });

  test('one stored leaf hash deleted from ledger_nodes: refused at start', async () => {
    const dir = await tampered((db) => db.exec('DROP TRIGGER ledger_nodes_no_delete; DELETE FROM ledger_nodes WHERE level = 0 AND idx = 3;'));
    await expectHalt(dir, { table: 'ledger_nodes', seq: 0, reason: /ledger_nodes holds \d+ of the \d+ leaf hashes of rows 0\.\.\d+ \(and \d+ in all\): leaf hashes were deleted/, verify: false });
  });

  test('ledger_checkpoints wiped: refused at start', async () => {
    const dir = await tampered((db) => db.exec('DROP TRIGGER ledger_checkpoints_no_delete; DELETE FROM ledger_checkpoints;'));
    await expectHalt(dir, { table: 'ledger_checkpoints', seq: 0, reason: /ledger_checkpoints is empty but ledger_entries holds \d+ rows: the checkpoint table was wiped/, verify: false });
  });

  test('the last row deleted: refused at start, naming the missing seq', async () => {
    const last = entries.length - 1;
    const dir = await tampered((db) => db.exec(`DROP TRIGGER ledger_entries_no_delete; DELETE FROM ledger_entries WHERE seq = ${last};`));
    await expectHalt(dir, { table: 'ledger_entries', seq: last, reason: new RegExp(`covers ${entries.length} entries but the table holds ${last}: rows ${last}\\.\\.${last} were deleted`), verify: false });
  });
});

describe('tamper suite on PostgreSQL (real serve processes on one database)', { concurrency: false }, () => {
  let db: TempDatabase;
  let world: LedgerWorld;
  let approved = '';
  let entries: LedgerEntry[] = [];

  before(async () => {
    db = await createTempDatabase('bg_tamper');
    world = await startLedgerWorld({ databaseUrl: db.url });
    approved = await fileAndDecide(world, 'bob', 'approve');
    entries = (await world.api<{ entries: LedgerEntry[] }>('erin', 'GET', '/v1/ledger/entries?limit=1000')).body.entries;
    await world.store.close();
  });

  after(async () => {
    await db?.drop();
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });


  async function haltOf(): Promise<{ health: number; halted: Halted; verdict: { verdict: string; message: string } }> {
    const serve = await startServe(['--data-dir', world.dataDir, '--port', '0', '--database-url', db.url]);
    try {
      const res = await fetch(`${serve.url}/healthz`);
      const body = (await res.json()) as { halted: Halted };
      const check = await fetch(`${serve.url}/v1/checks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${world.tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ gate: 'ci-tests', subject: { repo: 'payments-api', branch: 'main' } }),
      });
      return { health: res.status, halted: body.halted, verdict: (await check.json()) as { verdict: string; message: string } };
    } finally {
      await serve.stop();
    }
  }

  test('bypass window extended in requests.expires_at: the alarm names the request and the activation seq', async () => {
    const original = entries.filter((e) => e.target === approved && e.expiresAt).at(-1)!.expiresAt;
    await db.sql("UPDATE requests SET expires_at = '2099-01-01T00:00:00.000Z' WHERE id = $1", [approved]);
    const r = await haltOf();
    assert.equal(r.health, 503);
    const activation = entries.filter((e) => e.target === approved && e.expiresAt).at(-1)!.seq;
    assert.deepEqual([r.halted.table, r.halted.seq], ['requests', activation]);
    assert.match(r.halted.reason, new RegExp(`table requests, row ${approved}, field column expires_at`));
    assert.equal(r.verdict.verdict, 'block');
    assert.match(r.verdict.message, /log halted since/);
    // Undone: the next case starts from the untouched tables.
    await db.sql('UPDATE requests SET expires_at = $1 WHERE id = $2', [original, approved]);
  });

  test('one stored leaf hash rewritten in ledger_nodes: refused at start naming the row (the comparison runs in PostgreSQL)', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const rewrite = async (hash: Buffer) => {
      await client.query('ALTER TABLE ledger_nodes DISABLE TRIGGER ledger_nodes_append_only');
      await client.query('UPDATE ledger_nodes SET hash = $1 WHERE level = 0 AND idx = 2', [hash]);
      await client.query('ALTER TABLE ledger_nodes ENABLE TRIGGER ledger_nodes_append_only');
    };
    try {
      const original = (await client.query<{ hash: Buffer }>('SELECT hash FROM ledger_nodes WHERE level = 0 AND idx = 2')).rows[0]!.hash;
      await rewrite(Buffer.alloc(32, 9));
      try {
        const r = await haltOf();
        assert.equal(r.health, 503);
        assert.deepEqual([r.halted.table, r.halted.seq], ['ledger_nodes', 2]);
        assert.match(r.halted.reason, /the stored leaf hash of row 2 is not the hash of the row/);
        assert.equal(r.verdict.verdict, 'block');
      } finally {
        // Undone: the next case starts from the untouched tables.
        await rewrite(original);
      }
    } finally {
      await client.end();
    }
  });

  test('rows appended behind the store\'s back (a forged key enrollment and decision) are refused with the first unbound seq', async () => {
    const size = entries.length;
    const enrol = entries.find((e) => e.type === 'key_enrolled')!;
    const decision = entries.find((e) => e.type === 'decision')!;
    const forged = [
      { ...enrol, seq: size, target: 'key-forged', data: { ...(enrol.data as object), keyId: 'key-forged' } },
      { ...decision, seq: size + 1 },
    ];
    for (const e of forged) {
      await db.sql('INSERT INTO ledger_entries (seq, time, type, target, entry_json, leaf_hash) VALUES ($1, $2, $3, $4, $5, $6)', [e.seq, e.time, e.type, e.target, JSON.stringify(e), Buffer.alloc(32)]);
    }
    await db.sql('UPDATE ledger_head SET next_seq = $1', [size + 2]);
    const r = await haltOf();
    assert.equal(r.health, 503);
    assert.deepEqual([r.halted.table, r.halted.seq], ['ledger_entries', size]);
    assert.match(r.halted.reason, /carries no binding/);
    assert.equal(r.verdict.verdict, 'block');
  });
});

describe('a rolled-back database is refused by a client that saw a later checkpoint', () => {
  test('restore an older copy of breakglass.db: ledger verify exits 1 (rolled back)', async () => {
    const world = await startLedgerWorld();
    const stateHome = join(world.tmp, 'client-state');
    try {
      await fileAndDecide(world, 'bob', 'approve');
      await world.store.close();
      const snapshot = join(world.tmp, 'snapshot');
      await cp(world.dataDir, snapshot, { recursive: true });
      const serve = await startServe(['--data-dir', world.dataDir, '--port', '0']);
      const verify = () => runCli(['ledger', 'verify', '--json'], { BREAKGLASS_STORE: serve.url, BREAKGLASS_TOKEN: world.tokens.erin, XDG_STATE_HOME: stateHome });
      try {
        world.store = { ...world.store, url: serve.url, close: async () => undefined };
        await fileAndDecide(world, 'carol', 'deny');
        await fileAndDecide(world, 'bob', 'deny');
        // Wait for a checkpoint over everything, then let the client verify (and remember) it.
        for (let i = 0; i < 100; i++) {
          const cp = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/checkpoint')).body.treeSize;
          const size = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/entries?limit=1')).body.treeSize;
          if (cp >= size) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const seen = await verify();
        assert.equal(seen.code, 0, seen.stdout + seen.stderr);
      } finally {
        await serve.stop();
      }
      // The operator (or an attacker) puts the older copy back.
      await rm(world.dataDir, { recursive: true, force: true });
      await cp(snapshot, world.dataDir, { recursive: true });
      const again = await startServe(['--data-dir', world.dataDir, '--port', '0']);
      try {
        const r = await runCli(['ledger', 'verify', '--json'], { BREAKGLASS_STORE: again.url, BREAKGLASS_TOKEN: world.tokens.erin, XDG_STATE_HOME: stateHome });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /rolled_back|rolled back/);
      } finally {
        await again.stop();
      }
    } finally {
      await rm(world.tmp, { recursive: true, force: true });
    }
  });
});
