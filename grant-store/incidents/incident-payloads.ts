import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { IncidentStatus } from '../../shared/domain/incident';
import type { IncidentSourceKind } from '../../shared/domain/policy-incidents';
import { AppError, parseOrThrow } from '../../shared/errors';

/**
 * The incident webhooks' payloads, parsed into one event shape. Only the fields the store acts on
 * are validated (vendors add fields over time; unknown ones are ignored), and a payload missing
 * one of those is refused naming the field.
 */

/** What one webhook says about one incident. `null` = this event does not say (keep what is known). */
export interface IncidentEventFacts {
  /** Unique per event: PagerDuty's event.id, the generic payload's id, or (Opsgenie has none) the body's digest. */
  eventId: string;
  eventType: string;
  occurredAtMs: number;
  incidentId: string;
  title: string | null;
  serviceId: string | null;
  serviceName: string | null;
  tags: string[] | null;
  urgency: string | null;
  priority: string | null;
  status: IncidentStatus | null;
  assignees: string[] | null;
}

export type ParsedIncidentWebhook = { kind: 'event'; facts: IncidentEventFacts } | { kind: 'ignored'; eventType: string; reason: string };

export function payloadDigest(raw: Buffer): string {
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new AppError('invalid_input', `the webhook body is not JSON: ${(error as Error).message}`, { fieldErrors: [{ path: '', message: 'malformed JSON' }] });
  }
}

const Id = z.string().min(1).max(128);
const Ref = z.looseObject({ id: Id, summary: z.string().max(512).nullish() });

// --- PagerDuty v3 ---------------------------------------------------------------------------

const PagerDutyEnvelope = z.looseObject({
  event: z.looseObject({
    id: Id,
    event_type: z.string().min(1).max(128),
    resource_type: z.string().max(64),
    occurred_at: z.iso.datetime({ offset: true }),
    data: z.looseObject({ type: z.string().max(64) }),
  }),
});

const PagerDutyIncident = z.looseObject({
  id: Id,
  type: z.literal('incident'),
  status: z.enum(['triggered', 'acknowledged', 'resolved']),
  title: z.string().max(1024).nullish(),
  service: Ref,
  assignees: z.array(Ref).max(200),
  urgency: z.string().max(32).nullish(),
  priority: z.looseObject({ summary: z.string().max(64) }).nullish(),
});

/**
 * PagerDuty v3 webhooks: every `incident.*` event whose data is the incident object
 * (triggered, acknowledged, unacknowledged, reassigned, escalated, delegated, priority_updated,
 * reopened, resolved) carries the incident's full current state: status, assignees, service,
 * urgency, priority. Notes, status updates and service events are acknowledged and ignored.
 */
export function parsePagerDuty(raw: Buffer): ParsedIncidentWebhook {
  const { event } = parseOrThrow(PagerDutyEnvelope, parseJson(raw), 'PagerDuty webhook');
  if (event.resource_type !== 'incident' || event.data.type !== 'incident') return { kind: 'ignored', eventType: event.event_type, reason: `${event.event_type} does not change an incident's state or assignees` };
  const data = parseOrThrow(PagerDutyIncident, event.data, 'PagerDuty webhook event.data');
  return {
    kind: 'event',
    facts: {
      eventId: event.id,
      eventType: event.event_type,
      occurredAtMs: Date.parse(event.occurred_at),
      incidentId: data.id,
      title: data.title ?? null,
      serviceId: data.service.id,
      serviceName: data.service.summary ?? null,
      tags: null,
      urgency: data.urgency ?? null,
      priority: data.priority?.summary ?? null,
      status: data.status,
      assignees: data.assignees.map((a) => a.id),
    },
  };
}

// --- Opsgenie -------------------------------------------------------------------------------

const OpsgenieBody = z.looseObject({
  action: z.string().min(1).max(64),
  alert: z.looseObject({
    alertId: Id,
    message: z.string().max(1024).nullish(),
    /** Nanoseconds since the epoch (JSON numbers lose the last digits: milliseconds are enough). */
    updatedAt: z.number().positive(),
    username: z.string().max(256).nullish(),
    owner: z.string().max(256).nullish(),
    recipients: z.array(z.string().max(256)).max(200).nullish(),
    tags: z.array(z.string().max(256)).max(100).nullish(),
    entity: z.string().max(512).nullish(),
    priority: z.union([z.string().max(8), z.number().int().min(1).max(5)]).nullish(),
  }),
});

/** Opsgenie actions that change the alert's state or who owns it; the rest (notes, tags, ...) are ignored. */
const OPSGENIE_ACTIONS = new Set(['Create', 'Acknowledge', 'UnAcknowledge', 'AssignOwnership', 'TakeOwnership', 'Close', 'Delete']);

/**
 * Opsgenie's outgoing webhook ("alert action data"): Create (the alert's recipients are the paged
 * responders until someone owns it), Acknowledge / TakeOwnership (the acting user owns it),
 * AssignOwnership (alert.owner owns it), UnAcknowledge, Close and Delete (resolved).
 */
export function parseOpsgenie(raw: Buffer): ParsedIncidentWebhook {
  const body = parseOrThrow(OpsgenieBody, parseJson(raw), 'Opsgenie webhook');
  const { alert, action } = body;
  if (!OPSGENIE_ACTIONS.has(action)) return { kind: 'ignored', eventType: action, reason: `Opsgenie action ${action} does not change an alert's state or owner` };
  const actor = alert.username ? [alert.username] : null;
  let status: IncidentStatus | null = null;
  let assignees: string[] | null = null;
  switch (action) {
    case 'Create':
      status = 'triggered';
      assignees = alert.owner ? [alert.owner] : (alert.recipients ?? []);
      break;
    case 'Acknowledge':
      status = 'acknowledged';
      assignees = actor;
      break;
    case 'UnAcknowledge':
      status = 'triggered';
      break;
    case 'TakeOwnership':
      assignees = actor;
      break;
    case 'AssignOwnership':
      if (!alert.owner) throw new AppError('invalid_input', 'Opsgenie webhook: AssignOwnership without alert.owner', { fieldErrors: [{ path: 'alert.owner', message: 'required for AssignOwnership' }] });
      assignees = [alert.owner];
      break;
    default: // Close, Delete
      status = 'resolved';
  }
  const priority = alert.priority === undefined || alert.priority === null ? null : typeof alert.priority === 'number' ? `P${alert.priority}` : alert.priority;
  return {
    kind: 'event',
    facts: {
      // Opsgenie sends no event id: the body's digest identifies a delivery (a replay is byte-identical).
      eventId: payloadDigest(raw),
      eventType: action,
      occurredAtMs: Math.floor(alert.updatedAt / 1e6),
      incidentId: alert.alertId,
      title: alert.message?.trim() || null,
      serviceId: alert.entity || null,
      serviceName: null,
      tags: alert.tags ?? null,
      urgency: null,
      priority,
      status,
      assignees,
    },
  };
}

// --- generic --------------------------------------------------------------------------------

/** The generic incident webhook's body (docs/oncall.md): any incident system can send it. */
export const GenericIncidentWebhookSchema = z.strictObject({
  /** Unique per event: a replay of the same id is refused. */
  id: Id,
  occurredAt: z.iso.datetime({ offset: true }),
  incident: z.strictObject({
    id: Id,
    title: z.string().max(1024).optional(),
    service: z.string().min(1).max(256).optional(),
    urgency: z.string().min(1).max(32).optional(),
    priority: z.string().min(1).max(32).optional(),
    status: z.enum(['triggered', 'acknowledged', 'resolved']),
    /** Currently assigned responders (ids the policy maps to principals). */
    assignees: z.array(z.string().min(1).max(256)).max(200),
  }),
});

export function parseGeneric(raw: Buffer): ParsedIncidentWebhook {
  const body = parseOrThrow(GenericIncidentWebhookSchema, parseJson(raw), 'incident webhook');
  const i = body.incident;
  return {
    kind: 'event',
    facts: {
      eventId: body.id,
      eventType: `incident.${i.status}`,
      occurredAtMs: Date.parse(body.occurredAt),
      incidentId: i.id,
      title: i.title ?? null,
      serviceId: i.service ?? null,
      serviceName: null,
      tags: null,
      urgency: i.urgency ?? null,
      priority: i.priority ?? null,
      status: i.status,
      assignees: i.assignees,
    },
  };
}

export function parseIncidentWebhook(kind: IncidentSourceKind, raw: Buffer): ParsedIncidentWebhook {
  if (kind === 'pagerduty') return parsePagerDuty(raw);
  if (kind === 'opsgenie') return parseOpsgenie(raw);
  return parseGeneric(raw);
}
