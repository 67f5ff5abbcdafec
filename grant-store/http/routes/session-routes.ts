import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { authConfig } from '../../identity/auth-config';
import { endSession, startSession } from '../../identity/session-service';
import { workloadCheckInput } from '../../identity/workload-check';
import { answerCheck } from '../../service/check-service';
import type { ServiceDeps } from '../../service/service-deps';
import { query } from '../parse';
import type { RoutePlugin } from '../route-context';

const NoQuery = z.strictObject({});

function identityOf(deps: ServiceDeps) {
  if (!deps.identity) throw new AppError('unavailable', 'this grant store was started without sign-in and workload identity');
  return deps.identity;
}

/**
 * Sign-in through the organisation's IdP and CI workload identity:
 *  - GET /v1/auth/config (public): the IdP, client id and scopes to sign in with; trusted CI issuers;
 *  - POST /v1/sessions (public; the body carries the ID token): a short-lived store session;
 *  - DELETE /v1/sessions/current: sign out (the session stops working at once, on every instance);
 *  - POST /v1/checks/workload: a gate's check authenticated by its CI job's OIDC ID token (the
 *    auth hook verifies it); the subject comes from the token's claims.
 */
export const registerSessionRoutes: RoutePlugin = (app, ctx) => {
  const { deps } = ctx;
  app.get('/v1/auth/config', async (request) => {
    query(NoQuery, request.query);
    return authConfig(deps.policies.declared);
  });
  app.post('/v1/sessions', async (request, reply) => {
    const created = await startSession(identityOf(deps).sessionDeps, request.body, request.socket.remoteAddress ?? null);
    return reply.status(201).send(created);
  });
  app.delete('/v1/sessions/current', async (request) => {
    const caller = ctx.caller(request);
    return { session: await endSession(identityOf(deps).sessionDeps, caller.sessionId, caller.sourceAddress) };
  });
  app.post('/v1/checks/workload', (request) => {
    const caller = ctx.caller(request);
    if (!caller.workload) throw new AppError('unauthenticated', "a workload check is authenticated by the CI job's OIDC ID token");
    return answerCheck(deps, caller, workloadCheckInput(caller.workload, request.body));
  });
};
