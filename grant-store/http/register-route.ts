import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ROUTES, type RouteBody, type RouteDef, type RouteName, type RouteParams, type RouteQuery, type RouteResponse } from '../../shared/http/contract';
import { NoQuerySchema } from '../../shared/http/params';
import { AppError, fieldErrorsFromZod, parseOrThrow } from '../../shared/errors';
import { requireRole } from '../service/access';
import type { Caller } from '../service/service-deps';
import { callerOf } from './auth';

/** What a route handler gets: the caller (role already checked) and its parsed input. */
export interface RouteCall<N extends RouteName> {
  /** The authenticated caller; `null` only on public routes. */
  caller: Routes[N] extends { roles: 'public' } ? Caller | null : Caller;
  params: RouteParams<N>;
  query: RouteQuery<N>;
  body: RouteBody<N>;
  request: FastifyRequest;
  /** For headers, non-JSON answers (return `reply` after `reply.send`) and streams (`reply.hijack()`). */
  reply: FastifyReply;
}
type Routes = typeof ROUTES;

/** A handler answers the route's JSON response, or `reply` once it has sent something else itself. */
export type RouteHandler<N extends RouteName> = (call: RouteCall<N>) => Answer<N> | Promise<Answer<N>>;
type Answer<N extends RouteName> = RouteResponse<N> | FastifyReply | void;

export interface RouteOptions<N extends RouteName> {
  /**
   * A faster parser for the body that gives exactly the schema's verdicts and values (the gate
   * check's, grant-store/checks/check-input.ts, held to the schema by a property test).
   */
  parseBody?: (raw: unknown) => RouteBody<N>;
}

/** Registers routes of the contract table on one app. */
export type RouteRegistrar = <N extends RouteName>(name: N, handler: RouteHandler<N>, options?: RouteOptions<N>) => void;

export interface RegistrarOptions {
  /**
   * Check every JSON answer against the route's response schema; a mismatch is logged and
   * answered as a 500. On in tests and development; production (NODE_ENV=production) skips it.
   */
  validateResponses: boolean;
}

/**
 * The one way a route is registered: authenticate (the onRequest hook), check the role, parse the
 * path params, the query and the body with the contract's schemas (errors are the documented
 * `{ error }` envelope naming each field), call the handler, validate its answer (see
 * RegistrarOptions) and send it with the route's status.
 *
 * The Fastify handler is not async: a handler that answers synchronously (a gate check answered
 * from memory) is sent without a promise round, and a synchronous throw reaches the error handler.
 */
export function routeRegistrar(app: FastifyInstance, options: RegistrarOptions): RouteRegistrar {
  return <N extends RouteName>(name: N, handler: RouteHandler<N>, routeOptions: RouteOptions<N> = {}) => {
    const def: RouteDef = ROUTES[name];
    const roles = def.roles;
    const querySchema = def.query ?? NoQuerySchema;
    const bodySchema = def.body;
    const bodyName = def.bodyName ?? 'body';
    const parseBody = routeOptions.parseBody ?? (bodySchema ? (raw: unknown) => parseOrThrow(bodySchema, raw, bodyName) : undefined);
    const status = def.status ?? 200;
    const responseSchema = options.validateResponses ? def.response : undefined;

    const finish = (reply: FastifyReply, answer: Answer<N>): unknown => {
      if (answer === reply || reply.sent) return reply;
      if (answer === undefined) throw new AppError('internal', `route ${name} answered nothing`);
      if (responseSchema) checkResponse(name, responseSchema, answer, reply);
      if (status !== 200) reply.status(status);
      return answer;
    };

    const fastifyRoute = {
      method: def.method,
      url: def.path,
      handler(request: FastifyRequest, reply: FastifyReply) {
        let caller: Caller | null = null;
        if (roles !== 'public') {
          caller = callerOf(request);
          if (roles !== 'authenticated') requireRole(caller, ...roles);
        }
        const params = def.params ? parseParams(def, request.params) : {};
        // A route without query parameters called without any (every gate check) skips the schema:
        // its verdict on an empty query is always an empty object.
        const query = querySchema === NoQuerySchema && isEmpty(request.query) ? {} : parseOrThrow(querySchema, { ...(request.query as object) }, 'query');
        const raw = request.body;
        const body = def.rawBody ? (Buffer.isBuffer(raw) ? raw : Buffer.alloc(0)) : parseBody ? parseBody(raw === undefined || raw === null ? {} : raw) : undefined;
        const call = { caller, params, query, body, request, reply } as RouteCall<N>;
        const answer = handler(call);
        if (answer instanceof Promise) return answer.then((value) => finish(reply, value));
        const value = finish(reply, answer);
        // A synchronous answer already sent (by the handler itself) must not be returned to Fastify.
        return value === reply ? undefined : value;
      },
    };
    if (!def.rawBody) {
      app.route(fastifyRoute);
      return;
    }
    // Raw-body routes (signed webhooks) get their own scope where every body stays a Buffer.
    void app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      scope.route(fastifyRoute);
    });
  };
}

/** No own enumerable key (Fastify's parsed query string; undefined counts as empty). */
function isEmpty(value: unknown): boolean {
  for (const _ in value as object) return false;
  return true;
}

function parseParams(def: RouteDef, raw: unknown): unknown {
  if (def.badParamsNotFound && !def.params!.safeParse(raw).success) throw new AppError('not_found', def.badParamsNotFound);
  return parseOrThrow(def.params!, raw, 'path');
}

function checkResponse(name: string, schema: z.ZodType, answer: unknown, reply: FastifyReply): void {
  const result = schema.safeParse(answer);
  if (result.success) return;
  const problems = fieldErrorsFromZod(result.error).map((f) => `${f.path || '(root)'}: ${f.message}`);
  reply.log.error({ route: name, problems }, 'response does not match the contract');
  throw new AppError('internal', `the answer of ${name} does not match the contract (see the store log): ${problems.slice(0, 3).join('; ')}`);
}
