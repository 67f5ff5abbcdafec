import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors';
import { authenticate, authenticateCached } from '../service/identity-service';
import type { Caller, ServiceDeps } from '../service/service-deps';

/** Routes anyone may call without a token. */
const PUBLIC_PATHS = new Set(['/healthz']);

const callers = new WeakMap<FastifyRequest, Caller>();

/**
 * Bearer authentication on every route but /healthz, before the body is parsed (so an
 * unauthenticated caller cannot make the store parse 256 KiB). The source address comes
 * from the socket, never from a header a client can set.
 */
export function installAuth(app: FastifyInstance, deps: ServiceDeps): void {
  // Callback style, not async: a token in the cache (grant-store/checks/token-cache.ts) is
  // resolved synchronously, which saves gate checks a promise round per request.
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      const path = request.url.split('?')[0] ?? '';
      if (PUBLIC_PATHS.has(path)) return done();
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (header !== undefined && !match) throw new AppError('unauthenticated', 'malformed Authorization header: expected "Bearer <token>"');
      const source = request.socket.remoteAddress ?? null;
      const cached = match?.[1] ? authenticateCached(deps, match[1], source) : undefined;
      if (cached) {
        callers.set(request, cached);
        return done();
      }
      authenticate(deps, match?.[1], source).then(
        (caller) => {
          callers.set(request, caller);
          done();
        },
        (error: Error) => done(error),
      );
    } catch (error) {
      done(error as Error);
    }
  });
}

export function callerOf(request: FastifyRequest): Caller {
  const caller = callers.get(request);
  if (!caller) throw new AppError('unauthenticated', 'not authenticated');
  return caller;
}
