import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type pg from 'pg';
import { GroupCommit } from '../../../../grant-store/checks/group-commit';
import { createPgPool, withTransaction } from '../../../../grant-store/storage/postgres/connection';
import { PgStore } from '../../../../grant-store/storage/postgres/pg-store';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';
import { storedActiveRequest } from '../../../support/stored-request';
import { createTempDatabase, TEST_PG_URL, type TempDatabase } from '../pg-temp-database';

/**
 * A warn batch on PostgreSQL is two round trips: BEGIN goes out with the batch's lock statement
 * and the ledger insert with COMMIT (pg's pipeline mode). Seen on the wire, through a proxy on
 * 127.0.0.1 that records what the client writes between two answers of the server (a "turn").
 * And the error paths that pipelining must keep: a failed last statement is the error thrown and
 * nothing is written; a COMMIT the server answers with a rollback is never reported as committed.
 */

/** Each connection's client writes, grouped into turns: a new turn starts after the server has answered. */
interface Wire {
  server: Server;
  port: number;
  connections: { turns: Buffer[][] }[];
  close(): Promise<void>;
}

async function recordingProxy(target: URL): Promise<Wire> {
  const connections: Wire['connections'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const record = { turns: [] as Buffer[][] };
    connections.push(record);
    let answered = true;
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (answered) record.turns.push([]);
      answered = false;
      record.turns[record.turns.length - 1]!.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      answered = true;
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as { port: number }).port,
    connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let db: TempDatabase;
let wire: Wire;
let store: PgStore;
/** A pipelined pool straight to the database, for withTransaction's error paths. */
let pool: pg.Pool;

before(async () => {
  db = await createTempDatabase('bg_pipelined_tx');
  wire = await recordingProxy(new URL(TEST_PG_URL));
  const viaProxy = new URL(db.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(wire.port);
  store = await PgStore.open({ databaseUrl: viaProxy.toString() });
  pool = createPgPool(db.url, 2, { pipeline: true });
  await pool.query('CREATE TABLE writes (n int PRIMARY KEY)');
});
after(async () => {
  await pool?.end();
  await store?.close();
  await wire?.close();
  await db?.drop();
});

/** The turns, on any connection, from the one that sends BEGIN to the one that sends COMMIT. */
function transactionTurns(turnsBefore: number[]): string[] {
  const found: string[][] = [];
  wire.connections.forEach((connection, i) => {
    const turns = connection.turns.slice(turnsBefore[i] ?? 0).map((chunks) => Buffer.concat(chunks).toString('latin1'));
    const begin = turns.findIndex((text) => text.includes('BEGIN'));
    if (begin === -1) return;
    const commit = turns.findIndex((text, k) => k >= begin && text.includes('COMMIT'));
    assert.notEqual(commit, -1, 'the connection that began the transaction also committed it');
    found.push(turns.slice(begin, commit + 1));
  });
  assert.equal(found.length, 1, 'one connection carried the transaction');
  return found[0]!;
}

test('a warn batch costs two round trips: BEGIN with the lock, the ledger insert with COMMIT', async () => {
  const request = storedActiveRequest();
  await store.transaction((tx) => tx.insertRequest(request));
  const group = new GroupCommit(store);
  const sizeBefore = await store.ledgerSize();
  const turnsBefore = wire.connections.map((c) => c.turns.length);
  // Three warns queued in the same tick: one batch.
  const entries = await Promise.all(
    [0, 1, 2].map((i) =>
      group.run(async (tx) => {
        const bypass = await tx.getRequest(request.id);
        assert.equal(bypass?.state, 'active');
        return (await tx.appendLedger([ledgerEntry({ type: 'evaluation_under_bypass', actor: 'ci-gate', actorRole: 'gate', target: request.id, gate: request.gate, data: { i } })]))[0]!;
      }, request.id),
    ),
  );
  const turns = transactionTurns(turnsBefore);
  assert.equal(turns.length, 2, `two round trips, got ${turns.length}: ${JSON.stringify(turns.map((t) => t.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 120)))}`);
  assert.match(turns[0]!, /BEGIN/);
  assert.match(turns[0]!, /bg_lock_for_append/);
  assert.match(turns[1]!, /bg_ledger_flush/);
  assert.match(turns[1]!, /COMMIT/);
  // And it committed: dense seqs after what was there, readable by anyone.
  assert.deepEqual(
    entries.map((e) => e.seq),
    [sizeBefore, sizeBefore + 1, sizeBefore + 2],
  );
  assert.equal(await store.ledgerSize(), sizeBefore + 3);
});

test('BEGIN leaves with the first statement and the last statement with COMMIT: two socket writes for a transaction of two statements', async () => {
  // Counted on the client's own socket (each write to PostgreSQL's socket is a syscall whose
  // kernel work, on loopback, is charged to the store).
  const counting = createPgPool(db.url, 1, { pipeline: true });
  let writes = 0;
  counting.on('connect', (client) => {
    const stream = (client as unknown as { connection: { stream: { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown } } }).connection.stream;
    const write = stream._write.bind(stream);
    const writev = stream._writev.bind(stream);
    stream._write = (...a: unknown[]) => {
      writes++;
      return write(...a);
    };
    stream._writev = (...a: unknown[]) => {
      writes++;
      return writev(...a);
    };
  });
  try {
    await counting.query('SELECT 1'); // connected (start-up writes) and idle in the pool
    writes = 0;
    const n = await withTransaction(
      counting,
      async (client) => (await client.query('SELECT count(*)::int AS n FROM writes')).rows[0].n as number,
      (client) => client.query('SELECT 2'),
    );
    assert.equal(typeof n, 'number');
    assert.equal(writes, 2, `socket writes for BEGIN, a statement, a last statement and COMMIT: ${writes}`);
  } finally {
    await counting.end();
  }
});

test('a last statement that fails is the error thrown, and nothing of the transaction is written', async () => {
  await pool.query('DELETE FROM writes');
  await pool.query('INSERT INTO writes VALUES (1)');
  await assert.rejects(
    withTransaction(
      pool,
      async (client) => {
        await client.query('INSERT INTO writes VALUES (2)');
        return 'done';
      },
      // Sent with COMMIT: a duplicate key, so PostgreSQL answers that COMMIT with a rollback.
      (client) => client.query('INSERT INTO writes VALUES (1)'),
    ),
    (error: unknown) => {
      assert.equal((error as { code?: string }).code, '23505', `the insert's own error (unique violation), got ${String(error)}`);
      return true;
    },
  );
  assert.deepEqual((await pool.query('SELECT n FROM writes ORDER BY n')).rows, [{ n: 1 }], 'the row written before it was rolled back too');
  // The connection is usable afterwards: no transaction left open on it.
  assert.equal(await withTransaction(pool, async (client) => (await client.query('INSERT INTO writes VALUES (3)')).rowCount), 1);
  assert.deepEqual((await pool.query('SELECT n FROM writes ORDER BY n')).rows, [{ n: 1 }, { n: 3 }]);
});

test('a failed statement that the caller swallowed makes COMMIT a rollback, which is thrown, not reported as committed', async () => {
  await pool.query('DELETE FROM writes');
  await assert.rejects(
    withTransaction(pool, async (client) => {
      await client.query('INSERT INTO writes VALUES (7)');
      await client.query('INSERT INTO writes VALUES (7)').catch(() => undefined);
      return 'looks fine';
    }),
    /PostgreSQL answered COMMIT with ROLLBACK: the transaction was rolled back/,
  );
  assert.deepEqual((await pool.query('SELECT n FROM writes')).rows, []);
});
