import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SlugSchema } from '../../../shared/domain/common';
import { parseOrThrow } from '../../../shared/errors';
import { AdmissionReviewRequestSchema } from '../../../shared/gates/admission/admission-review';
import { ProviderRequestSchema } from '../../../shared/gates/admission/gatekeeper';
import { requireRole } from '../../service/access';
import { KyvernoCheckRequestSchema } from '../../../shared/gates/admission/kyverno';
import { admissionReview, gatekeeperProvider, kyvernoCheck, type AdmissionCall } from '../../admission/admission-service';
import type { RoutePlugin } from '../route-context';

const GateParams = z.strictObject({ gate: SlugSchema });
const NoQuery = z.strictObject({});

/**
 * Kubernetes admission (docs/integrations.md "Kubernetes admission"), one URL per gate, each
 * authenticated with a gate token like `breakglass check`:
 *   POST /v1/admission/gatekeeper/:gate   Gatekeeper external data ProviderRequest → ProviderResponse
 *   POST /v1/admission/kyverno/:gate      Kyverno apiCall body → {bypassed, message, requestUrl, …}
 *   POST /v1/admission/review/:gate       AdmissionReview v1 → AdmissionReview v1 (warnings under a bypass;
 *                                         no query: Kubernetes refuses webhook URLs with one)
 * To be moved into the contract table (shared/http/contract.ts) when it lands.
 */
export const registerAdmissionRoutes: RoutePlugin = (app, ctx) => {
  const call = (request: FastifyRequest): AdmissionCall => {
    const caller = ctx.caller(request);
    requireRole(caller, 'gate', 'admin');
    return {
      deps: ctx.deps,
      caller,
      gate: parseOrThrow(GateParams, request.params, 'path').gate,
      // The request link points where the caller reached the store (a link carries no secret; the page validates everything).
      storeUrl: `${request.protocol}://${request.host}`,
    };
  };

  // Order as everywhere: authenticate, role, input. A document that is not the protocol's is a
  // 400 naming the field (Gatekeeper and the API server report the failed call); an unknown gate
  // is answered in the protocol (systemError, a denial) so the user sees the reason.
  app.post('/v1/admission/gatekeeper/:gate', async (request) => {
    const c = call(request);
    return gatekeeperProvider(c, parseOrThrow(ProviderRequestSchema, request.body, 'ProviderRequest'));
  });

  app.post('/v1/admission/kyverno/:gate', async (request) => {
    const c = call(request);
    return kyvernoCheck(c, parseOrThrow(KyvernoCheckRequestSchema, request.body, 'apiCall body'));
  });

  app.post('/v1/admission/review/:gate', async (request) => {
    const c = call(request);
    parseOrThrow(NoQuery, { ...(request.query as object) }, 'query');
    return admissionReview(c, parseOrThrow(AdmissionReviewRequestSchema, request.body, 'AdmissionReview'));
  });
};
