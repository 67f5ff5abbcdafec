import { z } from 'zod';
import { CancelInputSchema, ReplyInputSchema } from '../../../shared/domain/api';
import { RequestIdSchema } from '../../../shared/domain/common';
import { parseOrThrow } from '../../../shared/errors';
import { submitDecision } from '../../service/decision-service';
import { cancelRequest, createRequest, getRequestDetail, listRequests, replyToRequest } from '../../service/request-service';
import { body } from '../parse';
import { requireRole } from '../../service/access';
import type { RoutePlugin } from '../route-context';

const IdParams = z.strictObject({ id: RequestIdSchema });

/** Requests: file, list, read, reply, cancel, and signed decisions on them. */
export const registerRequestRoutes: RoutePlugin = (app, ctx) => {
  const { deps } = ctx;
  const id = (params: unknown) => parseOrThrow(IdParams, params, 'path').id;

  app.post('/v1/requests', async (request, reply) => {
    const created = await createRequest(deps, ctx.caller(request), request.body);
    return reply.status(201).send(created);
  });

  app.get('/v1/requests', async (request) => ({ requests: await listRequests(deps, ctx.caller(request), { ...(request.query as object) }) }));

  app.get('/v1/requests/:id', async (request) => getRequestDetail(deps, ctx.caller(request), id(request.params)));

  // Order everywhere: authenticate, role, input, lookup (a wrong role learns nothing about inputs).
  app.post('/v1/requests/:id/reply', async (request) => {
    const caller = ctx.caller(request);
    requireRole(caller, 'requester');
    const input = body(ReplyInputSchema, request.body, 'reply');
    return { request: await replyToRequest(deps, caller, id(request.params), input.message) };
  });

  app.post('/v1/requests/:id/cancel', async (request) => {
    const caller = ctx.caller(request);
    requireRole(caller, 'requester', 'admin');
    const input = body(CancelInputSchema, request.body, 'cancel');
    return { request: await cancelRequest(deps, caller, id(request.params), input.comment) };
  });

  app.post('/v1/requests/:id/decisions', async (request) => {
    const result = await submitDecision(deps, ctx.caller(request), id(request.params), request.body);
    ctx.sweeper.rearm();
    return result;
  });
};
