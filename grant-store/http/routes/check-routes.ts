import { checkGate } from '../../service/check-service';
import type { RoutePlugin } from '../route-context';

/** The gate's question: is there an active bypass for this gate on this subject? */
export const registerCheckRoutes: RoutePlugin = (app, ctx) => {
  app.post('/v1/checks', async (request) => checkGate(ctx.deps, ctx.caller(request), request.body));
};
