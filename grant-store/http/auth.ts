import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/errors';
import { ROUTES, type RouteDef } from '../../shared/http/contract';
import { authenticate, authenticateCached } from '../service/identity-service';
import type { Caller, ServiceDeps } from '../service/service-deps';
import type { WorkloadCaller } from '../identity/workload-authenticator';

const TABLE = Object.values(ROUTES as Record<string, RouteDef>);
const pathPattern = (path: string) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+');
/**
 * Routes anyone may call without a token: the contract's `public` ones (how to sign in, the
 * sign-in itself, whose body carries the ID token, and incident webhooks, authenticated by the
 * source's signature over the raw body). One alternation of the anchored path patterns: a
 * single test per request instead of one per public route.
 */
const PUBLIC_PATH = new RegExp(`^(?:${TABLE.filter((r) => r.roles === 'public').map((r) => pathPattern(r.path)).join('|')})$`);
/** Routes whose bearer is a CI job's OIDC ID token, not a store token (grant-store/identity/workload-authenticator.ts). */
const WORKLOAD_PATHS = new Set(TABLE.filter((r) => r.bearer === 'workload').map((r) => r.path));
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
      if (PUBLIC_PATH.test(path)) return done();
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? BEARER.exec(header) : null;
      if (header !== undefined && !match) throw new AppError('unauthenticated', 'malformed Authorization header: expected "Bearer <token>"');
      token = match?.[1];
      source = request.socket.remoteAddress ?? null;
      if (WORKLOAD_PATHS.has(path)) return authenticateWorkload(deps, token, source, request, done);
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

/** A gate's CI job, by the ID token its CI issued: verified, mapped to a gate principal, its subject derived from its claims. */
function authenticateWorkload(deps: ServiceDeps, token: string | undefined, source: string | null, request: FastifyRequest, done: (error?: Error) => void): void {
  const workloads = deps.identity?.workloads;
  if (!token) return done(new AppError('unauthenticated', "missing bearer token: a workload check is authenticated by the CI job's OIDC ID token (Authorization: Bearer <id token>)"));
  if (!workloads) return done(new AppError('unauthenticated', 'this grant store takes no workload tokens'));
  const asCaller = (workload: WorkloadCaller): Caller => ({ principal: workload.principal, roles: ['gate'], sourceAddress: source, workload });
  const cached = workloads.peek(token);
  if (cached) {
    request.breakglassCaller = asCaller(cached);
    return done();
  }
  workloads.authenticate(token).then(
    (workload) => {
      request.breakglassCaller = asCaller(workload);
      done();
    },
    (error: Error) => done(error),
  );
}

export function callerOf(request: FastifyRequest): Caller {
  const caller = request.breakglassCaller;
  if (!caller) throw new AppError('unauthenticated', 'not authenticated');
  return caller;
}
