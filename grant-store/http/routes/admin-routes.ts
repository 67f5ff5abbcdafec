import { z } from 'zod';
import { parseOrThrow } from '../../../shared/errors';
import { createToken, enrollKey, listKeys, listTokens, revokeKey, revokeToken } from '../../service/identity-service';
import { reloadPolicy } from '../../service/policy-service';
import { body } from '../parse';
import { requireRole } from '../../service/access';
import type { FastifyRequest } from 'fastify';
import type { RoutePlugin } from '../route-context';

const TokenParams = z.strictObject({ id: z.string().regex(/^tok_[0-9a-z]{16,32}$/, 'must be a token id like tok_…') });
const PrincipalParams = z.strictObject({ principal: z.string() });
const KeyParams = z.strictObject({ principal: z.string(), keyId: z.string().regex(/^[0-9a-f]{64}$/, 'must be a key id (64 hex)') });
const Empty = z.strictObject({});

/** Tokens, approver keys and policy reload: admin only (checked in the service). */
export const registerAdminRoutes: RoutePlugin = (app, ctx) => {
  const { deps } = ctx;
  // Role first: a non-admin learns nothing about which inputs would have been valid.
  const admin = (request: FastifyRequest) => {
    const caller = ctx.caller(request);
    requireRole(caller, 'admin');
    return caller;
  };
  app.post('/v1/admin/tokens', async (request, reply) => reply.status(201).send(await createToken(deps, admin(request), request.body)));
  app.get('/v1/admin/tokens', async (request) => ({ tokens: await listTokens(deps, admin(request)) }));
  app.delete('/v1/admin/tokens/:id', async (request) => {
    const caller = admin(request);
    return { token: await revokeToken(deps, caller, parseOrThrow(TokenParams, request.params, 'path').id) };
  });
  app.post('/v1/admin/approvers/:principal/keys', async (request, reply) => {
    const { principal } = parseOrThrow(PrincipalParams, request.params, 'path');
    return reply.status(201).send(await enrollKey(deps, admin(request), principal, request.body));
  });
  app.get('/v1/admin/approvers/:principal/keys', async (request) => {
    const { principal } = parseOrThrow(PrincipalParams, request.params, 'path');
    return { keys: await listKeys(deps, admin(request), principal) };
  });
  app.delete('/v1/admin/approvers/:principal/keys/:keyId', async (request) => {
    const caller = admin(request);
    const { principal, keyId } = parseOrThrow(KeyParams, request.params, 'path');
    return revokeKey(deps, caller, principal, keyId);
  });
  app.post('/v1/admin/policy/reload', async (request) => {
    const caller = admin(request);
    body(Empty, request.body, 'reload');
    return reloadPolicy(deps, caller);
  });
};
