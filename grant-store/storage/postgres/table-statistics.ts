import type pg from 'pg';

/**
 * The planner statistics the store's reads depend on. Every read that must not grow with the
 * ledger (an audit window's seq range from the time index, the notification feed, the keyset
 * pages) is planned from PostgreSQL's statistics; with none (a table never analyzed: a restored
 * or copied database, or a server with autovacuum off) the planner assumes a third of the
 * ledger matches a recent time window and scans all of it: at 1,000,000 entries an empty
 * "last 60 s" audit took 345 ms instead of 0.04 ms (bench/growth on a server with autovacuum
 * off). Autovacuum (PostgreSQL's default) keeps them; where it is off the store keeps them
 * itself and says so.
 */

/** The tables whose statistics the store's indexed reads are planned from. */
export const PLANNED_TABLES = ['ledger_entries', 'ledger_requester_feed', 'requests', 'counters', 'reviews'] as const;

/** How often the store re-analyzes its tables when the server's autovacuum is off. */
export const ANALYZE_INTERVAL_MS = 10 * 60_000;

export interface StatisticsState {
  autovacuum: boolean;
  /** The planned tables that exist (all of them once migrated). */
  present: string[];
  /** Planned tables that hold rows but have no statistics. */
  missing: string[];
}

export type StatisticsPlan = { analyzeNow: string[]; keepAnalyzing: boolean; warning: string | null };

/** What to do at open: analyze what lacks statistics, and keep analyzing if nothing else will. */
export function statisticsPlan(state: StatisticsState): StatisticsPlan {
  if (state.autovacuum) return { analyzeNow: state.missing, keepAnalyzing: false, warning: null };
  return {
    analyzeNow: state.present,
    keepAnalyzing: true,
    warning: `PostgreSQL's autovacuum is off on this server: without fresh planner statistics the store's reads (audit windows, notifications, reports) would scan the whole ledger. The store runs ANALYZE on its tables itself, now and every ${ANALYZE_INTERVAL_MS / 60_000} minutes; turn autovacuum on (the PostgreSQL default) to leave it to the server.`,
  };
}

export async function readStatisticsState(pool: pg.Pool): Promise<StatisticsState> {
  const setting = await pool.query<{ on: boolean }>("SELECT current_setting('autovacuum') = 'on' AS on");
  // A table with rows (reltuples from the catalog, or a page on disk) but no pg_stats row was never analyzed.
  const tables = await pool.query<{ table: string; missing: boolean }>(
    `SELECT c.relname AS table,
            (c.reltuples > 0 OR c.relpages > 0) AND NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = current_schema() AND s.tablename = c.relname) AS missing
       FROM pg_class c
      WHERE c.relname = ANY($1::text[]) AND c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
      ORDER BY c.relname`,
    [[...PLANNED_TABLES]],
  );
  return { autovacuum: setting.rows[0]?.on === true, present: tables.rows.map((r) => r.table), missing: tables.rows.filter((r) => r.missing).map((r) => r.table) };
}

/** ANALYZE these tables (takes no lock that blocks reads or writes). */
export async function analyzeTables(pool: pg.Pool, tables: readonly string[]): Promise<void> {
  for (const table of tables) await pool.query(`ANALYZE ${table}`);
}

export interface StatisticsKeeper {
  /** Stop the timer; resolves once an ANALYZE in flight has ended. */
  stop(): Promise<void>;
}

/**
 * At open: reads the state, analyzes what the plan says, and when the server's autovacuum is off
 * re-analyzes every ANALYZE_INTERVAL_MS (a timer that does not keep the process alive). A failed
 * ANALYZE costs only plan quality: it is reported and the store carries on.
 */
export async function keepStatistics(pool: pg.Pool, log: { warn(message: string): void }): Promise<StatisticsKeeper> {
  const plan = statisticsPlan(await readStatisticsState(pool));
  if (plan.warning) log.warn(plan.warning);
  await analyzeTables(pool, plan.analyzeNow);
  if (!plan.keepAnalyzing) return { stop: async () => undefined };
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = analyzeTables(pool, plan.analyzeNow)
      .catch((error: unknown) => log.warn(`ANALYZE of the store's tables failed (planner statistics may be stale): ${(error as Error).message}`))
      .finally(() => (running = undefined));
  }, ANALYZE_INTERVAL_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
