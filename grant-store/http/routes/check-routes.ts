import { answerCheck } from '../../service/check-service';
import type { RoutePlugin } from '../route-context';

/** The gate's question: is there an active bypass for this gate on this subject? */
export const registerCheckRoutes: RoutePlugin = (app, ctx) => {
  // Not async: a block is answered synchronously from memory, and Fastify sends a returned value
  // at once (a promise, for a warn, is awaited); a synchronous throw reaches the error handler.
  app.post('/v1/checks', (request) => answerCheck(ctx.deps, ctx.caller(request), request.body));
};
