import { OpenApiGeneratorV31, OpenAPIRegistry, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { ErrorResponseSchema, type ErrorCode } from '../../shared/errors';
import { API_VERSION, openApiPath, ROUTES, type RouteDef } from '../../shared/http/contract';

type RouteParameter = NonNullable<NonNullable<RouteConfig['request']>['params']>;

/** The OpenAPI document, as served at GET /openapi.json. */
export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

const ERROR_STATUSES: ReadonlyArray<{ status: number; codes: ErrorCode[]; when: string }> = [
  { status: 400, codes: ['invalid_input'], when: 'a path parameter, query parameter or body field failed validation; fieldErrors names each one' },
  { status: 401, codes: ['unauthenticated'], when: 'missing, malformed, unknown, expired or revoked bearer token' },
  { status: 403, codes: ['forbidden'], when: 'the caller lacks the role, or a separation-of-duties rule says no' },
  { status: 404, codes: ['not_found'], when: 'no such object (or not visible to the caller)' },
  { status: 409, codes: ['illegal_transition', 'conflict'], when: "the target's state does not allow this (currentState says which), or a replay/duplicate" },
  { status: 413, codes: ['payload_too_large'], when: 'body over 256 KiB' },
  { status: 415, codes: ['unsupported_media_type'], when: 'a body that is not application/json' },
  { status: 422, codes: ['verification_failed'], when: 'a signature, proof or checkpoint did not verify' },
  { status: 500, codes: ['internal'], when: 'a bug; the store log has the details' },
  { status: 503, codes: ['unavailable'], when: 'the store cannot serve this now (e.g. the log halted); the message says why' },
];

/** The error envelope as a named component (`.meta({ id })` is what names it; made once per process). */
const ErrorResponseComponent = ErrorResponseSchema.meta({ id: 'ErrorResponse' });

function accessText(def: RouteDef): string {
  if (def.roles === 'public') return 'Public: no token.';
  if (def.bearer === 'workload') return `A CI workload: the bearer is its job's OIDC ID token; acts as roles ${[def.roles].flat().join(', ')}.`;
  if (def.roles === 'authenticated') return 'Any authenticated caller (bearer token); what it returns may be narrowed to what the caller may see.';
  return `Roles: ${def.roles.join(', ')} (bearer token holding at least one).`;
}

function errorResponses(def: RouteDef): Record<number, ResponseConfig> {
  const out: Record<number, ResponseConfig> = {};
  for (const e of ERROR_STATUSES) {
    if (def.roles === 'public' && (e.status === 401 || e.status === 403)) continue;
    if (!def.body && (e.status === 413 || e.status === 415)) continue;
    out[e.status] = { description: `${e.codes.join(' | ')}: ${e.when}`, content: { 'application/json': { schema: ErrorResponseComponent } } };
  }
  return out;
}

/**
 * The OpenAPI 3.1 document of every route in the contract table, generated with zod-to-openapi:
 * parameters, bodies and answers from the route's schemas, the roles in each operation's
 * description and `x-breakglass-roles`, and every error status with the one error envelope.
 */
export function buildOpenApiDocument(): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'A grant store token (`breakglass admin token create`) or a sign-in session.' });
  const workload = registry.registerComponent('securitySchemes', 'workload', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A CI job's OIDC ID token from an issuer the policy trusts (identity.workloads).",
  });
  for (const [name, def] of Object.entries(ROUTES) as [string, RouteDef][]) {
    const content: Record<string, { schema: z.ZodType | { type: 'string'; description: string } }> = {};
    if (def.response) content['application/json'] = { schema: def.response };
    for (const [type, description] of Object.entries(def.content ?? {})) content[type] = { schema: { type: 'string', description } };
    const route: RouteConfig & { 'x-breakglass-roles': string[] } = {
      method: def.method.toLowerCase() as RouteConfig['method'],
      path: openApiPath(def.path),
      operationId: name,
      summary: def.summary,
      description: accessText(def),
      'x-breakglass-roles': def.roles === 'public' ? [] : def.roles === 'authenticated' ? ['*'] : [...def.roles],
      ...(def.roles === 'public' ? {} : { security: [{ [(def.bearer === 'workload' ? workload : bearer).name]: [] }] }),
      request: {
        ...(def.params ? { params: def.params as RouteParameter } : {}),
        ...(def.query ? { query: def.query as RouteParameter } : {}),
        ...(def.body ? { body: { required: true, content: { 'application/json': { schema: def.body } } } } : {}),
      },
      responses: {
        [def.status ?? 200]: { description: def.summary, content },
        ...errorResponses(def),
      },
    };
    registry.registerPath(route);
  }
  const generator = new OpenApiGeneratorV31(registry.definitions);
  const doc = generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Breakglass grant store',
      version: API_VERSION,
      description:
        'Scoped, signed, time-boxed bypasses of policy gates. Every route is generated from shared/http/contract.ts. Errors are `{ "error": { code, message, fieldErrors?, currentState? } }`; checks run in this order: token (401), role (403), path (400/404), query (400), body (400).',
    },
  });
  // A path parameter is always required; the generator reads a coerced number's input as optional.
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item) as Array<{ parameters?: Array<{ in?: string; required?: boolean }> }>) {
      for (const p of op.parameters ?? []) if (p.in === 'path') p.required = true;
    }
  }
  return doc;
}
