import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SlugSchema } from '../../../shared/domain/common';
import { parseOrThrow } from '../../../shared/errors';
import { AdmissionReviewRequestSchema } from '../../../shared/gates/admission/admission-review';
import { GATEKEEPER_API_VERSIONS, ProviderRequestSchema, providerSystemError } from '../../../shared/gates/admission/gatekeeper';
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
  const call = (request: FastifyRequest): AdmissionCall => ({
    deps: ctx.deps,
    caller: ctx.caller(request),
    gate: parseOrThrow(GateParams, request.params, 'path').gate,
    // The request link points where the caller reached the store (a link carries no secret; the page validates everything).
    storeUrl: `${request.protocol}://${request.host}`,
  });

  app.post('/v1/admission/gatekeeper/:gate', async (request) => {
    const c = call(request);
    const parsed = ProviderRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      // Gatekeeper shows systemError to the user; answer in its own shape with the apiVersion it sent when it is one.
      const sent = (request.body as { apiVersion?: unknown } | null)?.apiVersion;
      const apiVersion = GATEKEEPER_API_VERSIONS.find((v) => v === sent) ?? GATEKEEPER_API_VERSIONS[0];
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');
      return providerSystemError(apiVersion, `breakglass: not a ProviderRequest: ${why}`);
    }
    return gatekeeperProvider(c, parsed.data);
  });

  app.post('/v1/admission/kyverno/:gate', async (request) => kyvernoCheck(call(request), parseOrThrow(KyvernoCheckRequestSchema, request.body, 'apiCall body')));

  app.post('/v1/admission/review/:gate', async (request) => {
    const c = call(request);
    parseOrThrow(NoQuery, { ...(request.query as object) }, 'query');
    return admissionReview(c, parseOrThrow(AdmissionReviewRequestSchema, request.body, 'AdmissionReview'));
  });
};
