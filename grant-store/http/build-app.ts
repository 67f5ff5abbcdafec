import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import type { Sweeper } from '../jobs/expiry-sweeper';
import type { StoreLogger } from '../logger';
import type { RetryPolicy } from '../alerts/outbox';
import type { ServiceDeps } from '../service/service-deps';
import { installAuth } from './auth';
import { clientErrorHandler, frameworkErrorHandler, installClosingAnswer, installErrorHandling } from './error-handler';
import { EventBus } from './event-bus';
import { buildOpenApiDocument } from './openapi';
import { routeRegistrar } from './register-route';
import type { RouteContext } from './route-context';
import { registerAdminRoutes } from './routes/admin-routes';
import { registerAdmissionRoutes } from './routes/admission-routes';
import { registerRequestPageRoutes } from './routes/request-page-routes';
import { registerCheckRoutes } from './routes/check-routes';
import { registerEventRoutes } from './routes/event-routes';
import { registerIdentityRoutes } from './routes/identity-routes';
import { registerLedgerRoutes } from './routes/ledger-routes';
import { registerTileRoutes } from './routes/tile-routes';
import { registerRequestRoutes } from './routes/request-routes';
import { registerReviewRoutes } from './routes/review-routes';
import { registerReportRoutes } from './routes/report-routes';
import { registerSessionRoutes } from './routes/session-routes';
import { registerAlertJob } from '../alerts/alert-plugin';
import { CheckpointWitnesses } from '../ledger/checkpoint-witnesses';
import { TransparencyLog } from '../ledger/transparency-log';
import { registerEmergencyRoutes } from './routes/emergency-routes';

/** Largest accepted body: a decision bundle is ~3 KiB; 256 KiB leaves room and bounds abuse. */
export const BODY_LIMIT_BYTES = 256 * 1024;
/** How long a client may take to send a whole request. */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface AppOptions {
  deps: ServiceDeps;
  dataDir: string;
  sweeper: Sweeper;
  /** The store's logger (grant-store/logger.ts); Fastify logs through it. */
  logger: StoreLogger;
  /** A log line per HTTP request (`serve --log`). */
  logRequests?: boolean;
  /** The environment read once by startGrantStore (secrets by name). */
  env: NodeJS.ProcessEnv;
  alertRetry: RetryPolicy;
  tls?: { certPath: string; keyPath: string };
  /** Digest scheduler's check interval (default once a minute). */
  digestCheckIntervalMs?: number;
  /** Check every JSON answer against the contract (tests and development; production skips it). */
  validateResponses: boolean;
}

/** The Fastify app with every route; the caller listens and closes it. */
export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; bus: EventBus; routes: readonly string[] }> {
  const https = opts.tls ? { cert: readFileSync(opts.tls.certPath), key: readFileSync(opts.tls.keyPath) } : null;
  const app = Fastify({
    loggerInstance: opts.logger,
    // Request lines only with `serve --log` (Fastify 5.12 takes this through a LogController).
    logController: new LogController({ disableRequestLogging: opts.logRequests !== true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // Router and HTTP parser errors answer in the documented envelope too (error-handler.ts).
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // A request (headers and body) not received in full in this time is a 408, not a connection
    // held forever (a body shorter than its content-length); Fastify's default is no limit.
    // Event streams are unaffected: this bounds receiving the request, not the response.
    requestTimeout: REQUEST_TIMEOUT_MS,
    // While closing, requests get our 503 in the documented envelope (installClosingAnswer), not
    // Fastify's own body.
    return503OnClosing: false,
    // Unknown fields are rejected by the zod schemas, not stripped; keep Fastify out of validation.
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;
  // Only JSON bodies: text/plain (a Fastify default) would reach the handlers as a string.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app);
  installClosingAnswer(app);
  installAuth(app, opts.deps);
  // Every route Fastify serves ("GET /v1/whoami"), for the contract coverage test; HEAD twins of GETs aside.
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });

  const bus = new EventBus(opts.deps.store);
  const log = await TransparencyLog.open({ store: opts.deps.store, dataDir: opts.dataDir, clock: opts.deps.clock });
  const witnesses = new CheckpointWitnesses({ log, policies: opts.deps.policies, logger: opts.logger, clock: opts.deps.clock });
  // Pushes in flight end before the log closes (its last checkpoint is signed without pushing).
  app.addHook('onClose', async () => {
    await witnesses.close();
    await log.close();
  });
  const route = routeRegistrar(app, { validateResponses: opts.validateResponses });
  const ctx: RouteContext = { deps: opts.deps, dataDir: opts.dataDir, bus, sweeper: opts.sweeper, log, witnesses, route, digestCheckIntervalMs: opts.digestCheckIntervalMs, env: opts.env, alertRetry: opts.alertRetry, logger: opts.logger };
  for (const register of [registerIdentityRoutes, registerRequestRoutes, registerCheckRoutes, registerReviewRoutes, registerAdminRoutes, registerEventRoutes, registerLedgerRoutes, registerTileRoutes, registerReportRoutes, registerEmergencyRoutes, registerSessionRoutes, registerAdmissionRoutes, registerRequestPageRoutes, registerAlertJob]) {
    await register(app, ctx);
  }
  let openapi: unknown;
  route('openapi', ({ reply }) => reply.type('application/json; charset=utf-8').send((openapi ??= buildOpenApiDocument())));
  app.addHook('onClose', async () => bus.close());
  return { app, bus, routes };
}
