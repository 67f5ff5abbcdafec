import type { z } from 'zod';
import type { Role } from '../domain/common';

// The shape of one route of THE contract (shared/http/contract.ts), apart from the table itself
// so that a route group (check-routes.ts) can be imported without every route's schemas.

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/**
 * Who may call a route: `public` (no token), `authenticated` (any valid token; the handler may
 * narrow further, e.g. a requester sees only their own requests), or the roles of which the
 * caller needs at least one.
 */
export type RouteAccess = 'public' | 'authenticated' | readonly Role[];

export interface RouteDef {
  method: HttpMethod;
  /** Fastify-style path: `/v1/requests/:id`. */
  path: string;
  /** One line for humans (OpenAPI summary). */
  summary: string;
  roles: RouteAccess;
  /** Path parameters (a strict object of the `:names` in `path`). */
  params?: z.ZodType;
  /** Query string (values arrive as strings; numbers are coerced). Absent: no query accepted. */
  query?: z.ZodType;
  /** JSON body. An absent body (or `null`) is parsed as `{}`. */
  body?: z.ZodType;
  /** What the body is called in error messages: "invalid <bodyName>: gate: …". */
  bodyName?: string;
  /** Status of a successful answer (default 200). */
  status?: 200 | 201;
  /** The JSON answer (validated in tests and development). */
  response?: z.ZodType;
  /** Answers that are not JSON (streams, text exports), by content type, with what they hold. */
  content?: Readonly<Record<string, string>>;
  /** Path params that fail their schema are a 404 with this message (the route does not exist). */
  badParamsNotFound?: string;
  /** `workload`: the bearer is a CI job's OIDC ID token (verified by the store), not a store token. */
  bearer?: 'workload';
  /**
   * The body is taken as raw bytes of any content type (the handler gets a Buffer): for webhooks
   * whose signature covers the exact bytes. Says what the body is.
   */
  rawBody?: string;
}

/** Typed identity: keeps each entry's literal method and exact schemas for the typed client. */
export function table<const T extends Record<string, RouteDef>>(routes: T): T {
  return routes;
}


/** The route's path with its params filled in (each URI-encoded). */
export function fillPath(path: string, params: Record<string, string | number> | undefined): string {
  return path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`missing path parameter ${name} for ${path}`);
    return encodeURIComponent(String(value));
  });
}
