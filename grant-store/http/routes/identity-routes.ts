import { z } from 'zod';
import { history } from '../../service/history-service';
import { whoAmI } from '../../service/identity-service';
import { query } from '../parse';
import type { RoutePlugin } from '../route-context';

const NoQuery = z.strictObject({});

/** Who am I, the policy in force, and bypass history. */
export const registerIdentityRoutes: RoutePlugin = (app, ctx) => {
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/v1/whoami', async (request) => {
    query(NoQuery, request.query);
    return whoAmI(ctx.deps, ctx.caller(request));
  });
  app.get('/v1/policy', async (request) => {
    query(NoQuery, request.query);
    ctx.caller(request);
    const info = ctx.deps.policies.info;
    return { policy: info.policy, hash: info.hash, loadedAt: info.loadedAt };
  });
  app.get('/v1/history', async (request) => history(ctx.deps, ctx.caller(request), request.query));
};
