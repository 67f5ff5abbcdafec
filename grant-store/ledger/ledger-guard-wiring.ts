import type { FastifyInstance, onRequestHookHandler, onSendHookHandler } from 'fastify';
import { ROUTES } from '../../shared/http/contract';
import type { PolicyHolder } from '../policy/policy-holder';
import type { Store } from '../storage/store';
import { enqueueOutboxItems, outboxItemsFor } from '../alerts/alert-dispatcher';
import type { AlertEvent } from '../alerts/alert-events';
import { LedgerGuard, type GuardLogger, type LedgerHaltState } from './ledger-guard';
import type { LogKey } from './log-key';

/**
 * Where the grant store's start-up hooks the ledger guard in (one call before the hot path,
 * one after the HTTP app is built), so the composition root calls two functions and nothing
 * else knows how the guard is wired.
 */

/** Prometheus gauge: 1 while the ledger is halted (tamper alarm), else 0. */
export const LEDGER_HALTED_METRIC = 'breakglass_ledger_halted';

/** The critical alert a halt raises, sent to every webhook whatever it subscribes to. */
export function ledgerHaltedEvent(halt: LedgerHaltState, text: string, origin: string): AlertEvent {
  return {
    event: 'ledger_halted',
    key: `ledger_halted:${origin}:${halt.since}`,
    subject: origin,
    gate: null,
    occurredAt: halt.since,
    title: 'TAMPER ALARM: the breakglass ledger is halted',
    text: `${text}. Every gate check now blocks and no decision is accepted until the database is restored and the store restarted.`,
    data: { origin, since: halt.since, seq: halt.seq, table: halt.table, reason: halt.reason },
  };
}

export interface GuardStartOptions {
  store: Store;
  key: LogKey;
  policies: PolicyHolder;
  clock: () => Date;
  logger?: GuardLogger;
}

/** Run the start-up check and follow the store; a halt queues the critical alert in the outbox. */
export async function startLedgerGuard(opts: GuardStartOptions): Promise<LedgerGuard> {
  return LedgerGuard.start({
    store: opts.store,
    key: opts.key,
    clock: opts.clock,
    logger: opts.logger,
    onHalt: async (halt, text) => {
      const event = ledgerHaltedEvent(halt, text, opts.key.origin);
      const items = outboxItemsFor([event], opts.policies.policy, halt.since);
      await opts.store.transaction((tx) => enqueueOutboxItems(tx, items));
    },
  });
}

/**
 * /healthz answers 503 with the halt, and /metrics carries the breakglass_ledger_halted gauge.
 * Call before the routes are registered: the hooks are attached to those two routes only (their
 * GET and HEAD), so no other request, gate checks included, runs them.
 */
export function installLedgerGuardHttp(app: FastifyInstance, guard: LedgerGuard): void {
  // Callback style, not async: an async hook costs each request a promise and a microtask round.
  const healthz: onRequestHookHandler = (_request, reply, done) => {
    const halt = guard.halted;
    if (!halt) return done();
    // Answered here: a hook that sends and does not call done() ends the request.
    void reply.code(503).send({ ok: false, halted: { since: halt.since, seq: halt.seq, table: halt.table, reason: halt.reason }, message: guard.describe() });
  };
  const metrics: onSendHookHandler = (_request, reply, payload, done) => {
    if (reply.statusCode !== 200 || typeof payload !== 'string') return done(null, payload);
    const halted = guard.halted ? 1 : 0;
    done(null, `${payload}${payload.endsWith('\n') || payload === '' ? '' : '\n'}# HELP ${LEDGER_HALTED_METRIC} 1 while the ledger is halted on a tamper alarm (every gate check blocks).\n# TYPE ${LEDGER_HALTED_METRIC} gauge\n${LEDGER_HALTED_METRIC} ${halted}\n`);
  };
  app.addHook('onRoute', (route) => {
    if (route.url === ROUTES.healthz.path) route.onRequest = [...[route.onRequest ?? []].flat(), healthz];
    // First: a HEAD route's own onSend (Fastify's) turns the body into its content-length.
    if (route.url === ROUTES.metrics.path) route.onSend = [metrics, ...[route.onSend ?? []].flat()];
  });
}
