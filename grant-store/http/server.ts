import { AppError } from '../../shared/errors';
import { dataDirPaths } from '../admin/data-dir';
import { composeGrantStore, type GrantStoreConfig } from '../compose-grant-store';
import { DEFAULT_SWEEP_INTERVAL_MS } from '../jobs/expiry-sweeper';
import type { WitnessTimers } from '../ledger/checkpoint-witnesses';
import { createStoreLogger, type StoreLogger, type StoreLogLevel } from '../logger';
import { secretLookup, storeEnv } from '../store-config';
import { buildApp } from './build-app';
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
  /** Timers of witness push retries and the quorum grace period, for tests moving an injected clock (with `clock`). */
  witnessTimers?: WitnessTimers;
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
 * The services' config from the options and the environment, read here once (StoreEnvSchema: a
 * bad value is an invalid_input error naming the variable, so `serve` exits 2): nothing below
 * reads process.env, and the secrets the policy names are reached through one lookup.
 */
export function grantStoreConfig(opts: GrantStoreOptions, env: NodeJS.ProcessEnv): GrantStoreConfig {
  const settings = storeEnv(env);
  return {
    dataDir: opts.dataDir,
    policyPath: opts.policyPath ?? dataDirPaths(opts.dataDir).policyPath,
    databaseUrl: opts.databaseUrl,
    logger: opts.logger ?? createStoreLogger({ level: opts.logLevel ?? (opts.logRequests ? 'info' : undefined) }),
    clock: opts.clock ?? (() => new Date()),
    // Never sweep less often than every 250 ms: expiry must not lag by more than that even if a timer is lost.
    sweepIntervalMs: Math.min(opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_SWEEP_INTERVAL_MS),
    digestCheckIntervalMs: opts.digestCheckIntervalMs,
    demoSafetyRelaxation: opts.demoSafetyRelaxation,
    secrets: secretLookup(env),
    alertRetry: settings.alertRetry,
    entryBindings: settings.entryBindings,
    witnessTimers: opts.witnessTimers,
  };
}

/**
 * Start the grant store: check the listening address, build every service (composeGrantStore:
 * database, ledger guard, hot path, sweeper, transparency log, alerts, digest, ...), register the
 * routes over them and serve HTTP(S). Refuses a non-loopback host without TLS (invariant 6).
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
  const services = await composeGrantStore(grantStoreConfig(opts, env));
  try {
    const { app, routes } = await buildApp({ services, logRequests: opts.logRequests, tls, validateResponses: opts.validateResponses ?? !storeEnv(env).production });
    try {
      await app.listen({ host, port: opts.port ?? DEFAULT_PORT });
    } catch (error) {
      await app.close();
      throw error;
    }
    services.startJobs();
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : (opts.port ?? DEFAULT_PORT);
    const urlHost = host.includes(':') ? `[${host}]` : host;
    let closing: Promise<void> | undefined;
    return {
      url: `${tls ? 'https' : 'http'}://${urlHost}:${port}`,
      routes,
      close() {
        // Stop answering first (open event streams end), then the services, newest first.
        closing ??= (async () => {
          try {
            await app.close();
          } finally {
            await services.close();
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    await services.close();
    throw error;
  }
}
