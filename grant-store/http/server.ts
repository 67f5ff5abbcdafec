import { AppError } from '../../shared/errors';
import { verifyDecisionBundle } from '../../shared/node/signing/verify-decision';
import { dataDirPaths } from '../admin/data-dir';
import { DEFAULT_SWEEP_INTERVAL_MS, startExpirySweeper } from '../jobs/expiry-sweeper';
import { PolicyHolder } from '../policy/policy-holder';
import { recordPolicyLoaded } from '../service/policy-service';
import type { ServiceDeps } from '../service/service-deps';
import { startCheckHotPath } from '../checks/check-hot-path';
import { TokenCache } from '../checks/token-cache';
import { startIdentityServices, type IdentityServices } from '../identity/identity-services';
import { PgStore } from '../storage/postgres/pg-store';
import { SqliteStore } from '../storage/sqlite/sqlite-store';
import type { Store } from '../storage/store';
import { createStoreLogger, type StoreLogger, type StoreLogLevel } from '../logger';
import { retryPolicyFromEnv } from '../alerts/alert-plugin';
import { buildApp } from './build-app';
import { loadLogKey } from '../ledger/log-key';
import { installLedgerGuardHttp, startLedgerGuard } from '../ledger/ledger-guard-wiring';
import { isLoopbackHost } from './loopback';
import type { SafetyGateRelaxation } from '../../shared/policy/safety-gates';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7410;

export interface GrantStoreOptions {
  dataDir: string;
  host?: string;
  /** 0 = a random free port. */
  port?: number;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  /** Default <dataDir>/policy.yaml. */
  policyPath?: string;
  /** PostgreSQL; the embedded SQLite database is used when absent. */
  databaseUrl?: string;
  sweepIntervalMs?: number;
  /** The store's logger (default: JSON lines on stderr at `logLevel`). */
  logger?: StoreLogger;
  /** Default `warn`; `serve --log-level`. */
  logLevel?: StoreLogLevel;
  /** A log line per HTTP request (`serve --log`). */
  logRequests?: boolean;
  /**
   * The environment the store reads (webhook and SMTP secrets by name, alert retry tuning);
   * read here and handed down, nothing below reads process.env. Default: process.env.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Check every JSON answer against the contract (shared/http/contract.ts); a mismatch is a 500
   * and an error in the log. Default: on, except with NODE_ENV=production, which skips the check.
   */
  validateResponses?: boolean;
  /**
   * Server clock override, for tests that must see expiry without waiting an hour (start the
   * store in-process and advance the clock). Production never sets it.
   */
  clock?: () => Date;
  /** How often the digest scheduler looks at the clock (tests moving an injected clock pass a short interval). */
  digestCheckIntervalMs?: number;
  /**
   * `npm start` only, on a machine that cannot produce attested keys: load safety gates whose
   * tier takes keys without attestation (shared/policy/safety-gates.ts). `serve` never sets it.
   */
  demoSafetyRelaxation?: SafetyGateRelaxation;
}

export interface RunningGrantStore {
  url: string;
  /** Every route the HTTP app serves, as "METHOD /path" (the contract coverage test reads it). */
  routes: readonly string[];
  close(): Promise<void>;
}

/**
 * Start the grant store: open the database, load and record the policy, start the expiry
 * sweeper, and serve HTTP(S). Refuses a non-loopback host without TLS (invariant 6).
 */
export async function startGrantStore(opts: GrantStoreOptions): Promise<RunningGrantStore> {
  const host = opts.host ?? DEFAULT_HOST;
  const tls = opts.tlsCertPath && opts.tlsKeyPath ? { certPath: opts.tlsCertPath, keyPath: opts.tlsKeyPath } : undefined;
  if ((opts.tlsCertPath && !opts.tlsKeyPath) || (!opts.tlsCertPath && opts.tlsKeyPath)) {
    throw new AppError('invalid_input', 'TLS needs both a certificate and a key (--tls-cert and --tls-key)');
  }
  if (!isLoopbackHost(host) && !tls) {
    throw new AppError('invalid_input', `refusing to listen on ${host} without TLS: only loopback addresses may serve plain HTTP (pass a TLS certificate and key)`);
  }
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? createStoreLogger({ level: opts.logLevel ?? (opts.logRequests ? 'info' : undefined) });
  const validateResponses = opts.validateResponses ?? env.NODE_ENV !== 'production';
  const alertRetry = retryPolicyFromEnv(env);
  const paths = dataDirPaths(opts.dataDir);
  const policies = await PolicyHolder.load(opts.policyPath ?? paths.policyPath, undefined, opts.demoSafetyRelaxation);
  // The log key binds every entry as it is appended (a row without it is refused).
  const logKey = await loadLogKey(paths.logKeyPath, { originPath: paths.logOriginPath });
  let store: Store;
  if (opts.databaseUrl) {
    store = await PgStore.open({ databaseUrl: opts.databaseUrl, binder: logKey.binder });
  } else {
    // One writer per SQLite data dir: a second serve is refused naming the PID holding the lock.
    store = SqliteStore.openExclusive(opts.dataDir, paths.databasePath, { binder: logKey.binder }, logger);
  }
  const clock = opts.clock ?? (() => new Date());
  // The ledger governs the gate: check it against its checkpoint and the tables before anything answers.
  const ledgerGuard = await startLedgerGuard({ store, key: logKey, policies, clock }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  // Gate checks answer from an in-memory index of active bypasses fed by the ledger (every
  // instance's entries, with Postgres), so a block needs no database round trip.
  const checks = await startCheckHotPath(store).catch(async (error: unknown) => {
    await ledgerGuard.stop();
    await store.close();
    throw error;
  });
  const tokens = new TokenCache(store);
  let identity: IdentityServices;
  try {
    identity = await startIdentityServices({ store, policies, clock });
  } catch (error) {
    await checks.stop();
    tokens.stop();
    await ledgerGuard.stop();
    await store.close();
    throw error;
  }
  identity.warm();
  const deps: ServiceDeps = { store, policies, clock, verifyDecision: verifyDecisionBundle, checks, tokens, identity, ledgerGuard };
  // Never sweep less often than every 250 ms: expiry must not lag by more than that even if a timer is lost.
  const sweeper = startExpirySweeper(deps, Math.min(opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_SWEEP_INTERVAL_MS), (error) =>
    logger.error({ err: error }, 'expiry sweep failed (the next sweep retries)'),
  );
  try {
    await recordPolicyLoaded(deps, { principal: 'system', roles: [], sourceAddress: null });
    await sweeper.sweep();
    const { app, routes } = await buildApp({
      deps,
      dataDir: opts.dataDir,
      sweeper,
      logger,
      logRequests: opts.logRequests,
      env,
      alertRetry,
      tls,
      digestCheckIntervalMs: opts.digestCheckIntervalMs,
      validateResponses,
    });
    installLedgerGuardHttp(app, ledgerGuard);
    await app.listen({ host, port: opts.port ?? DEFAULT_PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : (opts.port ?? DEFAULT_PORT);
    const urlHost = host.includes(':') ? `[${host}]` : host;
    let closing: Promise<void> | undefined;
    return {
      url: `${tls ? 'https' : 'http'}://${urlHost}:${port}`,
      routes,
      close() {
        closing ??= (async () => {
          await sweeper.stop();
          await app.close();
          await checks.stop();
          tokens.stop();
          identity.stop();
          await ledgerGuard.stop();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await sweeper.stop();
    await checks.stop();
    tokens.stop();
    identity.stop();
    await ledgerGuard.stop();
    await store.close();
    throw error;
  }
}
