import pg from 'pg';
import { AppError } from '../../../shared/errors';
import { fallbackStoreLogger } from '../../logger';

/**
 * PostgreSQL connections for the grant store. One pool per instance; the LISTEN client of the
 * event feed is a separate long-lived connection (a pooled client cannot hold a LISTEN).
 */

/** Connections per instance: enough for concurrent HTTP handlers plus the sweeper. */
export const DEFAULT_POOL_SIZE = 10;
/** A query stuck longer than this is a bug or an outage, not a slow check. */
const STATEMENT_TIMEOUT_MS = 15_000;
/** Give up on a connection attempt quickly so `serve` fails with a clear message. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Retries of a transaction that lost a deadlock or serialization race (40P01, 40001). */
export const MAX_TX_ATTEMPTS = 5;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * bigint columns (ledger seq, counters) come back as JS numbers: our seqs stay far below 2^53,
 * and the domain schemas use numbers. Set per pool, not globally, so other pg users are untouched.
 */
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export function pgClientConfig(databaseUrl: string): pg.ClientConfig {
  return { connectionString: databaseUrl, types, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, statement_timeout: STATEMENT_TIMEOUT_MS, application_name: 'breakglass' };
}

export function createPgPool(databaseUrl: string, max = DEFAULT_POOL_SIZE): pg.Pool {
  const pool = new pg.Pool({ ...pgClientConfig(databaseUrl), max });
  // An idle client losing its server connection emits 'error' on the pool; without a handler
  // that would crash the process. The next checkout simply gets a fresh connection.
  pool.on('error', (error) => fallbackStoreLogger().debug({ err: error }, 'an idle PostgreSQL connection failed (the pool replaces it)'));
  return pool;
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

const RETRYABLE_CODES = new Set(['40001', '40P01']);

/** What Retry-After says when every pooled connection stayed busy for the whole checkout timeout. */
export const POOL_EXHAUSTED_RETRY_AFTER_S = 1;

/**
 * pg-pool's checkout timeout (every connection busy for connectionTimeoutMillis) is load, not a
 * fault: the caller gets 503 with Retry-After, saying so, and nothing was written. Other
 * connect errors (server down, bad credentials) are thrown as they are.
 */
async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    if (error instanceof Error && error.message === 'timeout exceeded when trying to connect') {
      throw new AppError('unavailable', `the store is saturated: all ${pool.totalCount} PostgreSQL connections stayed busy for ${CONNECT_TIMEOUT_MS} ms, so nothing was written; retry in ${POOL_EXHAUSTED_RETRY_AFTER_S} s`, {
        retryAfterS: POOL_EXHAUSTED_RETRY_AFTER_S,
      });
    }
    throw error;
  }
}

/**
 * Run `fn` in one transaction (READ COMMITTED: the row locks taken with FOR UPDATE do the
 * serialising). Retries deadlocks and serialization failures (MAX_TX_ATTEMPTS in all, then
 * AppError('unavailable') with Retry-After); the caller's `fn` must therefore be safe to run
 * again (it only touches the database through `client`).
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await checkout(pool);
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      const code = (error as { code?: string }).code;
      if (code && RETRYABLE_CODES.has(code)) {
        if (attempt < MAX_TX_ATTEMPTS) continue;
        // Contention, not a fault: the caller gets 503 with Retry-After (a gate fails closed and
        // retries), not a 500, and nothing of this transaction was written.
        throw new AppError('unavailable', `the database aborted this transaction ${MAX_TX_ATTEMPTS} times in a row (${code === '40P01' ? 'deadlock' : 'serialization failure'} with concurrent writers), so nothing was written; retry in ${POOL_EXHAUSTED_RETRY_AFTER_S} s`, {
          retryAfterS: POOL_EXHAUSTED_RETRY_AFTER_S,
        });
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }
}
