import { z } from 'zod';
import { DigestSchema, SlugSchema, TimestampSchema } from './common';
import { IncidentSourceKindSchema } from './policy-incidents';

/**
 * An incident as the store knows it from verified webhooks (PagerDuty, Opsgenie, generic): its
 * latest state and who is assigned, in the incident system's own user ids (mapped to principals
 * through the policy's `incidents.responders` when a request cites it).
 */
export const IncidentStatusSchema = z.enum(['triggered', 'acknowledged', 'resolved']);
export type IncidentStatus = z.infer<typeof IncidentStatusSchema>;

export const IncidentSchema = z.strictObject({
  /** The policy's source id and the incident's id there; requests cite `<source>:<incidentId>`. */
  source: SlugSchema,
  incidentId: z.string().min(1).max(128),
  kind: IncidentSourceKindSchema,
  title: z.string().nullable(),
  /** PagerDuty service id / name; Opsgenie entity; generic service. */
  serviceId: z.string().nullable(),
  serviceName: z.string().nullable(),
  /** Opsgenie tags (matched like services). */
  tags: z.array(z.string()),
  urgency: z.string().nullable(),
  priority: z.string().nullable(),
  status: IncidentStatusSchema,
  /** Currently assigned responders, as the incident system names them. */
  assignees: z.array(z.string()),
  /** occurred_at of the last event applied (events older than it never roll the state back). */
  updatedAt: TimestampSchema,
  /** The incident_event ledger entry and payload digest of that event. */
  eventSeq: z.number().int().nonnegative(),
  payloadDigest: DigestSchema,
});
export type Incident = z.infer<typeof IncidentSchema>;

/** `pagerduty:PGR0VU2` → { source, incidentId } when the prefix is a source id; undefined otherwise. */
export function parseIncidentCitation(ref: string, sourceIds: readonly string[]): { source: string; incidentId: string } | undefined {
  const colon = ref.indexOf(':');
  if (colon <= 0) return undefined;
  const source = ref.slice(0, colon);
  const incidentId = ref.slice(colon + 1);
  return sourceIds.includes(source) && incidentId.length > 0 ? { source, incidentId } : undefined;
}

/** What a webhook answered: applied (with the ledger seq), a duplicate delivery, or an event type we do not act on. */
export const IncidentWebhookResultSchema = z.strictObject({
  outcome: z.enum(['applied', 'duplicate', 'ignored', 'out_of_order']),
  incident: z.string().nullable(),
  seq: z.number().int().nonnegative().nullable(),
  /** Pre-approved bypasses revoked because the incident resolved. */
  revoked: z.array(z.string()),
  message: z.string(),
});
export type IncidentWebhookResult = z.infer<typeof IncidentWebhookResultSchema>;
