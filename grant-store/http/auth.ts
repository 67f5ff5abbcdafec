import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors';
import { authenticate } from '../service/identity-service';
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
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '';
    if (PUBLIC_PATHS.has(path)) return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (header !== undefined && !match) throw new AppError('unauthenticated', 'malformed Authorization header: expected "Bearer <token>"');
    callers.set(request, await authenticate(deps, match?.[1], request.socket.remoteAddress ?? null));
  });
}

export function callerOf(request: FastifyRequest): Caller {
  const caller = callers.get(request);
  if (!caller) throw new AppError('unauthenticated', 'not authenticated');
  return caller;
}
