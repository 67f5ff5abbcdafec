import { submitDecision } from '../../service/decision-service';
import { cancelRequest, createRequest, getRequestDetail, listRequests, replyToRequest } from '../../service/request-service';
import type { RoutePlugin } from '../route-context';

/** Requests: file, list, read, reply, cancel, and signed decisions on them. */
export const registerRequestRoutes: RoutePlugin = (_app, { route, deps, sweeper }) => {
  route('createRequest', async ({ caller, body }) => createRequest(deps, caller, body));
  route('listRequests', async ({ caller, query }) => listRequests(deps, caller, query));
  route('getRequest', async ({ caller, params }) => getRequestDetail(deps, caller, params.id));
  route('replyToRequest', async ({ caller, params, body }) => ({ request: await replyToRequest(deps, caller, params.id, body.message) }));
  route('cancelRequest', async ({ caller, params, body }) => ({ request: await cancelRequest(deps, caller, params.id, body.comment) }));
  route('submitDecision', async ({ caller, params, body }) => {
    const result = await submitDecision(deps, caller, params.id, body);
    sweeper.rearm();
    return result;
  });
};
