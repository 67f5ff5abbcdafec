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

/**
 * `pipeline`: the pool's clients write each query as soon as it is issued instead of after the
 * previous one's answer (pg's pipeline mode; every query still ends in its own Sync, so an
 * error stays that query's). withTransaction uses it to send BEGIN with the transaction's
 * first statement and the last statement with COMMIT: two round trips for a warn batch instead
 * of four. Not for cursors or streams (pg refuses them on a pipelined client); the store has none.
 */
export function createPgPool(databaseUrl: string, max = DEFAULT_POOL_SIZE, options: { pipeline?: boolean } = {}): pg.Pool {
  // `pipeline` is pg's (8.2x) but not yet in @types/pg.
  const config: pg.PoolConfig & { pipeline?: boolean } = { ...pgClientConfig(databaseUrl), max, pipeline: options.pipeline ?? false };
  const pool = new pg.Pool(config);
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
 *
 * `finish(client, result)`, when given, issues the transaction's last statement(s) and returns
 * their promise without waiting for it: COMMIT is written right behind them, so on a pipelined
 * pool (createPgPool's `pipeline`) they share one round trip, as BEGIN shares one with `fn`'s
 * first statement. A statement that fails makes PostgreSQL answer that COMMIT with a rollback,
 * and the statement's error is what is thrown: nothing of the transaction is written.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, finish?: (client: pg.PoolClient, result: T) => Promise<unknown>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await checkout(pool);
    let broken = false;
    try {
      // Not awaited before `fn`: pipelined, BEGIN travels with fn's first statement (written
      // after it on the same connection, so the server runs it first). Its answer is awaited
      // below, before COMMIT is sent.
      let begun!: Promise<pg.QueryResult>;
      let running!: Promise<T>;
      // One socket write for BEGIN and what fn issues before its first await.
      inOneWrite(client, () => {
        begun = handled(client.query('BEGIN'));
        running = fn(client);
      });
      const result = await running;
      await begun;
      let finished!: Promise<unknown>;
      let committed!: Promise<pg.QueryResult>;
      inOneWrite(client, () => {
        finished = handled(finish ? finish(client, result) : Promise.resolve());
        committed = handled(client.query('COMMIT'));
      });
      // The last statements' error first: COMMIT after a failed statement only rolls back.
      await finished;
      const commit = await committed;
      if (commit.command !== 'COMMIT') throw new Error(`PostgreSQL answered COMMIT with ${commit.command}: the transaction was rolled back`);
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

/**
 * Run `issue` (which writes queries) with the client's socket corked, so that what a pipelined
 * client writes meanwhile leaves in one write. Each write to PostgreSQL's socket costs the
 * store far more than building the message (on a loopback connection the kernel's work for the
 * receiving side is charged to the sender's syscall: ~30 % of a warn's CPU was these writes,
 * four a batch). On a client that is not pipelined, the queries after the first are only
 * queued meanwhile and go out as before.
 */
function inOneWrite(client: pg.PoolClient, issue: () => void): void {
  const stream = (client as unknown as { connection?: { stream?: { cork?: () => void; uncork?: () => void } } }).connection?.stream;
  stream?.cork?.();
  try {
    issue();
  } finally {
    stream?.uncork?.();
  }
}

/**
 * `promise`, its rejection marked as handled: it is awaited later (after an earlier step that may
 * throw first), so a rejection meanwhile is not an unhandled one; awaiting it still throws.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  // The rejection reaches the caller when it awaits `promise`; here it is only marked as seen.
  promise.catch((_awaitedLater: unknown) => undefined);
  return promise;
}
