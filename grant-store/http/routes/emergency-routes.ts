import { z } from 'zod';
import { DigestQuerySchema } from '../../../shared/domain/digest';
import { EmergencyCredentialIdSchema } from '../../../shared/domain/emergency';
import { SlugSchema } from '../../../shared/domain/common';
import { parseOrThrow } from '../../../shared/errors';
import { ledgerStateSource } from '../../digest/ledger-state';
import { DigestScheduler, getDigest, sendDigestNow, type DigestDeps } from '../../digest/digest-service';
import { listCredentials, openEmergency, resealCredential, retireCredential, sealCredential } from '../../emergency/emergency-service';
import { receiveIncidentWebhook, type IncidentDeps } from '../../incidents/incident-service';
import { requireRole } from '../../service/access';
import { body, query } from '../parse';
import type { RoutePlugin } from '../route-context';

const CredentialParams = z.strictObject({ id: EmergencyCredentialIdSchema });
const SourceParams = z.strictObject({ source: SlugSchema });
const DigestSendBody = z.strictObject({ week: DigestQuerySchema.shape.week });

/**
 * Issue 15 over HTTP:
 *   POST /v1/emergency/credentials                 seal (admin): the secret is in this answer only
 *   GET  /v1/emergency/credentials                 list, never a secret (admin, auditor)
 *   POST /v1/emergency/credentials/:id/reseal      a fresh secret for the same gate/scope/holders (admin)
 *   POST /v1/emergency/credentials/:id/retire      (admin)
 *   POST /v1/emergency/open                        a holder uses a credential: the bypass opens at once
 *   POST /v1/incidents/:source/webhook             PagerDuty v3 / Opsgenie / generic, verified on the raw body
 *   GET  /v1/digest?week=2026-W48                  the weekly digest: figures, subject, HTML (inline SVG), text
 *   POST /v1/digest/send {week?}                   send it now (admin), recorded as on demand
 * Multi-sign-off reviews use POST /v1/reviews/:id/complete (review-routes.ts).
 */
export const registerEmergencyRoutes: RoutePlugin = async (app, ctx) => {
  const { deps } = ctx;
  const warn = (message: string) => app.log.warn(message);
  const credentialId = (params: unknown) => parseOrThrow(CredentialParams, params, 'path').id;

  app.post('/v1/emergency/credentials', async (request, reply) => reply.status(201).send(await sealCredential(deps, ctx.caller(request), request.body)));
  app.get('/v1/emergency/credentials', async (request) => ({ credentials: await listCredentials(deps, ctx.caller(request)) }));
  app.post('/v1/emergency/credentials/:id/reseal', async (request, reply) => reply.status(201).send(await resealCredential(deps, ctx.caller(request), credentialId(request.params), request.body)));
  app.post('/v1/emergency/credentials/:id/retire', async (request) => ({ credential: await retireCredential(deps, ctx.caller(request), credentialId(request.params), request.body) }));
  app.post('/v1/emergency/open', async (request, reply) => reply.status(201).send(await openEmergency(deps, ctx.caller(request), request.body)));

  // Webhooks are verified on the bytes the source signed: this scope keeps every body as a Buffer.
  const incidentDeps: IncidentDeps = { ...deps, env: process.env, warn };
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, raw, done) => done(null, raw));
    scope.post('/v1/incidents/:source/webhook', async (request) => {
      const { source } = parseOrThrow(SourceParams, request.params, 'path');
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      return receiveIncidentWebhook(incidentDeps, source, request.headers, raw);
    });
  });

  const digestDeps: DigestDeps = { ...deps, env: process.env, warn, ledgerState: ledgerStateSource(deps.store, ctx.log) };
  app.get('/v1/digest', async (request) => {
    const { week } = query(DigestQuerySchema, request.query);
    const { digest, rendered } = await getDigest(digestDeps, ctx.caller(request), week);
    return { digest, subject: rendered.subject, html: rendered.html, text: rendered.text };
  });
  app.post('/v1/digest/send', async (request) => {
    // Role first: a non-admin learns nothing about which inputs would have been valid.
    const caller = ctx.caller(request);
    requireRole(caller, 'admin');
    const { week } = body(DigestSendBody, request.body);
    return sendDigestNow(digestDeps, caller, week);
  });

  // One sender per week across every instance on the database (digest_runs elects it).
  const scheduler = new DigestScheduler(digestDeps, { checkIntervalMs: ctx.digestCheckIntervalMs });
  app.addHook('onReady', async () => scheduler.start());
  app.addHook('onClose', async () => scheduler.stop());
};
