import { getDigest, sendDigestNow } from '../../digest/digest-service';
import { listCredentials, openEmergency, resealCredential, retireCredential, sealCredential } from '../../emergency/emergency-service';
import { receiveIncidentWebhook } from '../../incidents/incident-service';
import type { RoutePlugin } from '../route-context';

/**
 * Emergency credentials (seal, list, re-seal, retire, open), incident webhooks (verified on the raw
 * body, no token) and the weekly digest (view, send now). Multi-sign-off reviews use
 * POST /v1/reviews/:id/complete (review-routes.ts).
 */
export const registerEmergencyRoutes: RoutePlugin = (_app, { route, deps, incidentDeps, digestDeps }) => {
  route('sealCredential', async ({ caller, body }) => sealCredential(deps, caller, body));
  route('listCredentials', async ({ caller }) => ({ credentials: await listCredentials(deps, caller) }));
  route('resealCredential', async ({ caller, params, body }) => resealCredential(deps, caller, params.id, body));
  route('retireCredential', async ({ caller, params, body }) => ({ credential: await retireCredential(deps, caller, params.id, body) }));
  route('openEmergency', async ({ caller, body }) => openEmergency(deps, caller, body));

  route('incidentWebhook', async ({ params, body, request }) => receiveIncidentWebhook(incidentDeps, params.source, request.headers, Buffer.from(body)));

  route('digest', async ({ caller, query }) => {
    const { digest, rendered } = await getDigest(digestDeps, caller, query.week);
    return { digest, subject: rendered.subject, html: rendered.html, text: rendered.text };
  });
  route('sendDigest', async ({ caller, body }) => sendDigestNow(digestDeps, caller, body.week));
};
