import type { FastifyRequest } from 'fastify';
import { admissionReview, gatekeeperProvider, kyvernoCheck, type AdmissionCall } from '../../admission/admission-service';
import type { Caller } from '../../service/service-deps';
import type { RoutePlugin } from '../route-context';

/**
 * Kubernetes admission (docs/integrations.md "Kubernetes admission"), one URL per gate, each
 * authenticated with a gate token like `breakglass check`. A document that is not the protocol's
 * is a 400 naming the field (Gatekeeper and the API server report the failed call); an unknown
 * gate is answered in the protocol (systemError, a denial) so the user sees the reason. The
 * AdmissionReview URL takes no query: Kubernetes refuses webhook URLs with one.
 */
export const registerAdmissionRoutes: RoutePlugin = (_app, { route, deps }) => {
  const call = (caller: Caller, gate: string, request: FastifyRequest): AdmissionCall => ({
    deps,
    caller,
    gate,
    // The request link points where the caller reached the store (a link carries no secret; the page validates everything).
    storeUrl: `${request.protocol}://${request.host}`,
  });
  route('admissionGatekeeper', async ({ caller, params, body, request }) => gatekeeperProvider(call(caller, params.gate, request), body));
  route('admissionKyverno', async ({ caller, params, body, request }) => kyvernoCheck(call(caller, params.gate, request), body));
  route('admissionReview', async ({ caller, params, body, request }) => admissionReview(call(caller, params.gate, request), body));
};
