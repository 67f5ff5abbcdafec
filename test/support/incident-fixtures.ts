import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The vendors' documented webhook payloads (test/fixtures/incidents, see its README) and the way
 * each vendor signs them, for unit and integration tests alike.
 */

const dir = new URL('../fixtures/incidents/', import.meta.url);

/** The raw bytes of a fixture, exactly as documented. */
export function fixtureBytes(name: string): Buffer {
  return readFileSync(new URL(name, dir));
}

/** PagerDuty's documented v3 example (incident.priority_updated, incident PGR0VU2 assigned to PTUXL6G). */
export const PAGERDUTY_EXAMPLE = 'pagerduty-v3-incident-priority-updated.json';

/**
 * Another event of the same incident in PagerDuty's documented shape: the example with only the
 * event id, type, time, status and assignees changed (PagerDuty sends the same incident object
 * with every incident.* event).
 */
export function pagerDutyEvent(change: { id: string; type: 'incident.triggered' | 'incident.acknowledged' | 'incident.reassigned' | 'incident.resolved' | 'incident.priority_updated'; occurredAt: string; status: 'triggered' | 'acknowledged' | 'resolved'; assignees?: string[] }): Buffer {
  const doc = JSON.parse(fixtureBytes(PAGERDUTY_EXAMPLE).toString('utf8')) as { event: Record<string, unknown> & { data: Record<string, unknown> } };
  doc.event.id = change.id;
  doc.event.event_type = change.type;
  doc.event.occurred_at = change.occurredAt;
  doc.event.data.status = change.status;
  if (change.assignees) {
    doc.event.data.assignees = change.assignees.map((id) => ({ html_url: `https://acme.pagerduty.com/users/${id}`, id, self: `https://api.pagerduty.com/users/${id}`, summary: `User ${id}`, type: 'user_reference' }));
  }
  return Buffer.from(JSON.stringify(doc, null, 2));
}

/** `X-PagerDuty-Signature` as PagerDuty computes it: v1=<hex HMAC-SHA256 of the raw body>, one per secret, comma-joined. */
export function pagerDutySignature(raw: Buffer, ...secrets: string[]): string {
  return secrets.map((s) => `v1=${createHmac('sha256', s).update(raw).digest('hex')}`).join(',');
}

/** Opsgenie's documented "alert action data" samples for one alert (052652ac-...). */
export const OPSGENIE = {
  create: 'opsgenie-create.json',
  acknowledge: 'opsgenie-acknowledge.json',
  assignOwnership: 'opsgenie-assign-ownership.json',
  close: 'opsgenie-close.json',
} as const;
