import { verifyDecisionBundle } from '../shared/node/signing/verify-decision';
import { dataDirPaths } from './admin/data-dir';
import { AlertDispatcher } from './alerts/alert-dispatcher';
import { startCheckHotPath, type RunningCheckHotPath } from './checks/check-hot-path';
import { TokenCache } from './checks/token-cache';
import { ledgerStateSource } from './digest/ledger-state';
import { DigestScheduler, type DigestDeps } from './digest/digest-service';
import { EventBus } from './http/event-bus';
import { startIdentityServices, type IdentityServices } from './identity/identity-services';
import type { IncidentDeps } from './incidents/incident-service';
import { startExpirySweeper, type Sweeper } from './jobs/expiry-sweeper';
import type { LedgerGuard } from './ledger/ledger-guard';
import { CheckpointWitnesses, outboxWitnessAlert } from './ledger/checkpoint-witnesses';
import { startLedgerGuard } from './ledger/ledger-guard-wiring';
import { loadLogKey, type LogKey } from './ledger/log-key';
import { TransparencyLog } from './ledger/transparency-log';
import type { StoreLogger } from './logger';
import { PolicyHolder } from './policy/policy-holder';
import { findingsReport } from './reports/findings-report';
import { GateHealthMetrics } from './reports/prometheus-metrics';
import { loadReportInput } from './reports/report-source';
import { PageSignIn } from './request-page/page-sign-in';
import { recordPolicyLoaded } from './service/policy-service';
import { SYSTEM_CALLER, type ServiceDeps } from './service/service-deps';
import { PgStore } from './storage/postgres/pg-store';
import { SqliteStore } from './storage/sqlite/sqlite-store';
import type { Store } from './storage/store';
import { validGrantStoreConfig, type GrantStoreConfig } from './store-config';

export type { GrantStoreConfig } from './store-config';

/** The grant store's services, built once, in order; the HTTP routes receive them. */
export interface GrantStoreServices {
  config: GrantStoreConfig;
  logger: StoreLogger;
  policies: PolicyHolder;
  logKey: LogKey;
  store: Store;
  /** The tamper guard: checked the ledger against its checkpoint before anything else runs. */
  ledgerGuard: LedgerGuard;
  checks: RunningCheckHotPath;
  tokens: TokenCache;
  identity: IdentityServices;
  /** What every service operation gets (grant-store/service). */
  deps: ServiceDeps;
  /** The ledger as a transparency log (checkpoints, proofs, bundles). */
  log: TransparencyLog;
  /** The policy's witnesses: pushes checkpoints to them, keeps their cosignatures. */
  witnesses: CheckpointWitnesses;
  /** Committed ledger entries fanned out to the open event streams. */
  bus: EventBus;
  sweeper: Sweeper;
  alerts: AlertDispatcher;
  digestDeps: DigestDeps;
  digest: DigestScheduler;
  incidentDeps: IncidentDeps;
  /** The Prometheus registry /metrics renders. */
  metrics: GateHealthMetrics;
  /** The request page's OIDC sign-ins in flight. */
  pageSignIn: PageSignIn;
  /** Start what must wait until the store answers (alert delivery, the digest schedule). */
  startJobs(): void;
  /** Stop and close every service, in the reverse of the order they were built. */
  close(): Promise<void>;
}

/**
 * The grant store's one composition root: checks `config` (GrantStoreConfigSchema: a bad value
 * is an invalid_input error naming it), opens the database and builds every service from it,
 * each from the ones before it. Services get what they need from it, never the environment:
 * secrets only through `config.secrets`. If a step fails, what was built is closed (newest
 * first) and the error is thrown. The HTTP app (grant-store/http/build-app.ts) only registers
 * routes over what this returns.
 */
export async function composeGrantStore(input: GrantStoreConfig): Promise<GrantStoreServices> {
  const config = validGrantStoreConfig(input);
  const { logger, clock } = config;
  // Closers of what is built so far, run newest first by close() or on a failed step.
  const closers: (() => void | Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        logger.error({ err: error }, 'closing a grant-store service failed (closing the others)');
      }
    }
  };
  try {
    const paths = dataDirPaths(config.dataDir);
    const policies = await PolicyHolder.load(config.policyPath, undefined, config.demoSafetyRelaxation);
    // The log key binds every entry as it is appended (a row without it is refused).
    const logKey = await loadLogKey(paths.logKeyPath, { originPath: paths.logOriginPath, entryBindings: config.entryBindings });
    if (config.entryBindings === 'v1') {
      logger.warn(
        { entryBindings: 'v1' },
        'BREAKGLASS_ENTRY_BINDINGS=v1: this instance binds entries with Ed25519 signatures (v1), which instances of a release before 2026-12-01 sharing this database can check; once none is left, restart every instance without the variable (v2 bindings cost a warn ~40 µs less)',
      );
    }
    const store: Store = config.databaseUrl
      ? await PgStore.open({ databaseUrl: config.databaseUrl, binder: logKey.binder })
      : // One writer per SQLite data dir: a second serve is refused naming the PID holding the lock.
        SqliteStore.openExclusive(config.dataDir, paths.databasePath, { binder: logKey.binder }, logger);
    closers.push(() => store.close());
    // The ledger governs the gate: check it against its checkpoint and the tables before anything answers.
    const ledgerGuard = await startLedgerGuard({ store, key: logKey, policies, clock });
    closers.push(() => ledgerGuard.stop());
    // Gate checks answer from an in-memory index of active bypasses fed by the ledger (every
    // instance's entries, with Postgres), so a block needs no database round trip.
    const checks = await startCheckHotPath(store);
    closers.push(() => checks.stop());
    const tokens = new TokenCache(store);
    closers.push(() => tokens.stop());
    const identity = await startIdentityServices({ store, policies, clock });
    closers.push(() => identity.stop());
    identity.warm();
    const deps: ServiceDeps = { store, policies, clock, verifyDecision: verifyDecisionBundle, checks, tokens, identity, ledgerGuard };
    const log = await TransparencyLog.open({ store, dataDir: config.dataDir, clock, guard: ledgerGuard, key: logKey });
    closers.push(() => log.close());
    // Closed before the log: pushes in flight end first (the log's last checkpoint is signed without pushing).
    // A witness alarm is queued in the outbox and the dispatcher (built below) told to deliver it.
    let kickAlerts: () => void = () => undefined;
    const queueWitnessAlert = outboxWitnessAlert(store, policies, clock);
    const witnesses = new CheckpointWitnesses({
      log,
      policies,
      logger,
      clock,
      timers: config.witnessTimers,
      alert: async (event) => {
        await queueWitnessAlert(event);
        kickAlerts();
      },
    });
    closers.push(() => witnesses.close());
    const bus = new EventBus(store);
    closers.push(() => bus.close());
    // Never sweep less often than every 250 ms: expiry must not lag by more than that even if a timer is lost.
    const sweeper = startExpirySweeper(deps, config.sweepIntervalMs, (error) => logger.error({ err: error }, 'expiry sweep failed (the next sweep retries)'));
    closers.push(() => sweeper.stop());
    await recordPolicyLoaded(deps, SYSTEM_CALLER);
    await sweeper.sweep();
    const warn = (message: string) => logger.warn(message);
    const alerts = new AlertDispatcher({
      store,
      policy: () => policies.policy,
      clock,
      findings: async () => findingsReport(await loadReportInput(store, policies.policy, clock(), { withEvaluations: false })).findings,
      retry: config.alertRetry,
      secrets: config.secrets,
      log: warn,
    });
    closers.push(() => alerts.stop());
    kickAlerts = () => alerts.kick();
    const digestDeps: DigestDeps = { ...deps, secrets: config.secrets, warn, ledgerState: ledgerStateSource(store, log) };
    // One sender per week across every instance on the database (digest_runs elects it).
    const digest = new DigestScheduler(digestDeps, { checkIntervalMs: config.digestCheckIntervalMs });
    closers.push(() => digest.stop());
    return {
      config,
      logger,
      policies,
      logKey,
      store,
      ledgerGuard,
      checks,
      tokens,
      identity,
      deps,
      log,
      witnesses,
      bus,
      sweeper,
      alerts,
      digestDeps,
      digest,
      incidentDeps: { ...deps, secrets: config.secrets, warn },
      metrics: new GateHealthMetrics(),
      pageSignIn: new PageSignIn(deps),
      startJobs() {
        alerts.start();
        digest.start();
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
