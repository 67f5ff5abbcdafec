import { parseCheckInput } from '../../checks/check-input';
import { answerCheckInput } from '../../service/check-service';
import type { RoutePlugin } from '../route-context';

/** The gate's question: is there an active bypass for this gate on this subject? */
export const registerCheckRoutes: RoutePlugin = (_app, { route, deps }) => {
  // Not async: a block is answered synchronously from memory, and the registrar sends a returned
  // value at once (a promise, for a warn, is awaited). The body goes through the hot path's
  // parser, which gives the schema's verdict and value (test/unit/grant-store/checks/check-input.test.ts),
  // and only there: the service takes the parsed input as is.
  route('check', ({ caller, body }) => answerCheckInput(deps, caller, body), { parseBody: parseCheckInput });
};
