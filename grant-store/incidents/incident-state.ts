import type { Incident } from '../../shared/domain/incident';
import type { IncidentSource } from '../../shared/domain/policy-incidents';
import type { IncidentEventFacts } from './incident-payloads';

/**
 * An incident's next state from a verified event. Events of one incident can arrive out of
 * order (PagerDuty orders per subscription, retries interleave, Opsgenie does not promise
 * order): an event older than the state already applied never rolls it back. Fields an event
 * does not carry (an Opsgenie Acknowledge has no tags) keep their known value.
 */
export function nextIncidentState(current: Incident | undefined, facts: IncidentEventFacts, source: IncidentSource, entry: { seq: number; payloadDigest: string }): { incident: Incident; outOfOrder: boolean } {
  const at = new Date(facts.occurredAtMs).toISOString();
  if (current && facts.occurredAtMs < Date.parse(current.updatedAt)) return { incident: current, outOfOrder: true };
  const incident: Incident = {
    source: source.id,
    incidentId: facts.incidentId,
    kind: source.kind,
    title: facts.title ?? current?.title ?? null,
    serviceId: facts.serviceId ?? current?.serviceId ?? null,
    serviceName: facts.serviceName ?? current?.serviceName ?? null,
    tags: facts.tags ?? current?.tags ?? [],
    urgency: facts.urgency ?? current?.urgency ?? null,
    priority: facts.priority ?? current?.priority ?? null,
    status: facts.status ?? current?.status ?? 'triggered',
    assignees: facts.assignees ?? current?.assignees ?? [],
    updatedAt: at,
    eventSeq: entry.seq,
    payloadDigest: entry.payloadDigest,
  };
  return { incident, outOfOrder: false };
}
