import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type pg from 'pg';
import { createPgPool, MAX_TX_ATTEMPTS, withTransaction } from '../../../../grant-store/storage/postgres/connection';
import { AppError } from '../../../../shared/errors';
import { createTempDatabase, type TempDatabase } from '../pg-temp-database';

/**
 * A transaction that loses a deadlock or serialization race is run again from the start; one
 * that keeps losing is load, not a fault: the caller gets AppError('unavailable') with a
 * Retry-After (HTTP 503, a gate fails closed and retries) instead of the driver's error (a 500),
 * and nothing any attempt wrote is kept.
 */

let db: TempDatabase;
let pool: pg.Pool;

before(async () => {
  db = await createTempDatabase('bg_tx_retry');
  pool = createPgPool(db.url, 2);
  await pool.query('CREATE TABLE writes (n int)');
});
after(async () => {
  await pool?.end();
  await db?.drop();
});

function lost(code: string): Error {
  return Object.assign(new Error(code === '40P01' ? 'deadlock detected' : 'could not serialize access due to concurrent update'), { code });
}

test('a transaction that loses a race a few times is retried and commits once', async () => {
  await pool.query('DELETE FROM writes');
  let attempts = 0;
  const result = await withTransaction(pool, async (client) => {
    attempts++;
    await client.query('INSERT INTO writes VALUES ($1)', [attempts]);
    if (attempts < 3) throw lost(attempts === 1 ? '40P01' : '40001');
    return 'committed';
  });
  assert.equal(result, 'committed');
  assert.equal(attempts, 3);
  assert.deepEqual((await pool.query('SELECT n FROM writes')).rows, [{ n: 3 }], 'only the attempt that committed wrote');
});

for (const code of ['40P01', '40001']) {
  test(`one that keeps losing (${code}) is refused as unavailable with Retry-After after ${MAX_TX_ATTEMPTS} attempts, nothing written`, async () => {
    await pool.query('DELETE FROM writes');
    let attempts = 0;
    await assert.rejects(
      withTransaction(pool, async (client) => {
        attempts++;
        await client.query('INSERT INTO writes VALUES ($1)', [attempts]);
        throw lost(code);
      }),
      (error: unknown) => {
        assert.ok(error instanceof AppError, `an AppError, got ${String(error)}`);
        assert.equal(error.code, 'unavailable');
        assert.equal(error.retryAfterS, 1);
        assert.match(error.message, code === '40P01' ? /deadlock/ : /serialization failure/);
        assert.match(error.message, /nothing was written/);
        return true;
      },
    );
    assert.equal(attempts, MAX_TX_ATTEMPTS);
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM writes')).rows[0].n, 0);
  });
}

test('any other error is the caller\'s, at once, and rolls back', async () => {
  await pool.query('DELETE FROM writes');
  let attempts = 0;
  await assert.rejects(
    withTransaction(pool, async (client) => {
      attempts++;
      await client.query('INSERT INTO writes VALUES (1)');
      throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    }),
    /duplicate key/,
  );
  assert.equal(attempts, 1);
  assert.equal((await pool.query('SELECT count(*)::int AS n FROM writes')).rows[0].n, 0);
});
