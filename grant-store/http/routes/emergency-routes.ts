import { ledgerStateSource } from '../../digest/ledger-state';
import { DigestScheduler, getDigest, sendDigestNow, type DigestDeps } from '../../digest/digest-service';
import { listCredentials, openEmergency, resealCredential, retireCredential, sealCredential } from '../../emergency/emergency-service';
import { receiveIncidentWebhook, type IncidentDeps } from '../../incidents/incident-service';
import type { RoutePlugin } from '../route-context';

/**
 * Emergency credentials (seal, list, re-seal, retire, open), incident webhooks (verified on the raw
 * body, no token) and the weekly digest (view, send now). Multi-sign-off reviews use
 * POST /v1/reviews/:id/complete (review-routes.ts).
 */
export const registerEmergencyRoutes: RoutePlugin = async (app, { route, deps, log, env, logger, digestCheckIntervalMs }) => {
  const warn = (message: string) => logger.warn(message);

  route('sealCredential', async ({ caller, body }) => sealCredential(deps, caller, body));
  route('listCredentials', async ({ caller }) => ({ credentials: await listCredentials(deps, caller) }));
  route('resealCredential', async ({ caller, params, body }) => resealCredential(deps, caller, params.id, body));
  route('retireCredential', async ({ caller, params, body }) => ({ credential: await retireCredential(deps, caller, params.id, body) }));
  route('openEmergency', async ({ caller, body }) => openEmergency(deps, caller, body));

  const incidentDeps: IncidentDeps = { ...deps, env, warn };
  route('incidentWebhook', async ({ params, body, request }) => receiveIncidentWebhook(incidentDeps, params.source, request.headers, Buffer.from(body)));

  const digestDeps: DigestDeps = { ...deps, env, warn, ledgerState: ledgerStateSource(deps.store, log) };
  route('digest', async ({ caller, query }) => {
    const { digest, rendered } = await getDigest(digestDeps, caller, query.week);
    return { digest, subject: rendered.subject, html: rendered.html, text: rendered.text };
  });
  route('sendDigest', async ({ caller, body }) => sendDigestNow(digestDeps, caller, body.week));

  // One sender per week across every instance on the database (digest_runs elects it).
  const scheduler = new DigestScheduler(digestDeps, { checkIntervalMs: digestCheckIntervalMs });
  app.addHook('onReady', async () => scheduler.start());
  app.addHook('onClose', async () => scheduler.stop());
};
