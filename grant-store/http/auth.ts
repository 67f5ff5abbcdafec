import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors';
import { authenticate, authenticateCached } from '../service/identity-service';
import type { Caller, ServiceDeps } from '../service/service-deps';

/** Routes anyone may call without a token. */
const PUBLIC_PATHS = new Set(['/healthz']);
/** Incident webhooks carry no token: the source's signature (checked on the raw body) authenticates them. */
const INCIDENT_WEBHOOK_PATH = /^\/v1\/incidents\/[^/]+\/webhook$/;
const BEARER = /^Bearer\s+(\S+)\s*$/i;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook (null until it has run, and on public paths). */
    breakglassCaller: Caller | null;
  }
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Bearer authentication on every route but /healthz, before the body is parsed (so an
 * unauthenticated caller cannot make the store parse 256 KiB). The source address comes
 * from the socket, never from a header a client can set.
 */
export function installAuth(app: FastifyInstance, deps: ServiceDeps): void {
  // A request decoration (initialised in Fastify's request constructor, so every request keeps
  // one object shape) instead of a WeakMap: no ephemeron entry per request for the GC.
  app.decorateRequest('breakglassCaller', null);
  // Callback style, not async: a token in the cache (grant-store/checks/token-cache.ts) is
  // resolved synchronously, which saves gate checks a promise round per request.
  app.addHook('onRequest', (request, _reply, done) => {
    let token: string | undefined;
    let source: string | null = null;
    try {
      const path = pathOf(request.url);
      if (PUBLIC_PATHS.has(path) || INCIDENT_WEBHOOK_PATH.test(path)) return done();
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? BEARER.exec(header) : null;
      if (header !== undefined && !match) throw new AppError('unauthenticated', 'malformed Authorization header: expected "Bearer <token>"');
      token = match?.[1];
      source = request.socket.remoteAddress ?? null;
      const cached = token ? authenticateCached(deps, token, source) : undefined;
      if (cached) {
        request.breakglassCaller = cached;
        return done();
      }
    } catch (error) {
      return done(error as Error);
    }
    authenticate(deps, token, source).then(
      (caller) => {
        request.breakglassCaller = caller;
        done();
      },
      (error: Error) => done(error),
    );
  });
}

export function callerOf(request: FastifyRequest): Caller {
  const caller = request.breakglassCaller;
  if (!caller) throw new AppError('unauthenticated', 'not authenticated');
  return caller;
}
