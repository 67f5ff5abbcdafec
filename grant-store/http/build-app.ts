import Fastify, { type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import type { GrantStoreServices } from '../compose-grant-store';
import { installAuth } from './auth';
import { clientErrorHandler, frameworkErrorHandler, installClosingAnswer, installErrorHandling } from './error-handler';
import { buildOpenApiDocument } from './openapi';
import { requestLogging } from './request-logger';
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
import { installLedgerGuardHttp } from '../ledger/ledger-guard-wiring';
import { registerEmergencyRoutes } from './routes/emergency-routes';

/** Largest accepted body: a decision bundle is ~3 KiB; 256 KiB leaves room and bounds abuse. */
export const BODY_LIMIT_BYTES = 256 * 1024;
/** How long a client may take to send a whole request. */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface AppOptions {
  /** What composeGrantStore built: the routes are registered over these and build nothing. */
  services: GrantStoreServices;
  /** A log line per HTTP request (`serve --log`). */
  logRequests?: boolean;
  tls?: { certPath: string; keyPath: string };
  /** Check every JSON answer against the contract (tests and development; production skips it). */
  validateResponses: boolean;
}

/** The Fastify app with every route; the caller listens and closes it. */
export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; routes: readonly string[] }> {
  const { services } = opts;
  const https = opts.tls ? { cert: readFileSync(opts.tls.certPath), key: readFileSync(opts.tls.keyPath) } : null;
  const app = Fastify({
    // Request lines only with `serve --log`; without them Fastify gets no logger of its own and
    // `request.log` is the store logger's child, built when a request logs something (request-logger.ts).
    ...requestLogging(services.logger, opts.logRequests === true),
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
  installAuth(app, services.deps);
  // Every route Fastify serves ("GET /v1/whoami"), for the contract coverage test; HEAD twins of GETs aside.
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });

  // /healthz answers 503 while the ledger is halted; /metrics carries the halt gauge (hooks on
  // those two routes only, attached as they are registered below).
  installLedgerGuardHttp(app, services.ledgerGuard);
  const route = routeRegistrar(app, { validateResponses: opts.validateResponses });
  const ctx: RouteContext = { ...services, route };
  for (const register of [registerIdentityRoutes, registerRequestRoutes, registerCheckRoutes, registerReviewRoutes, registerAdminRoutes, registerEventRoutes, registerLedgerRoutes, registerTileRoutes, registerReportRoutes, registerEmergencyRoutes, registerSessionRoutes, registerAdmissionRoutes, registerRequestPageRoutes]) {
    await register(app, ctx);
  }
  let openapi: unknown;
  route('openapi', ({ reply }) => reply.type('application/json; charset=utf-8').send((openapi ??= buildOpenApiDocument())));
  return { app, routes };
}
