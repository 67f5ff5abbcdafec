import type { Incident, IncidentWebhookResult } from '../../shared/domain/incident';
import type { IncidentSource } from '../../shared/domain/policy-incidents';
import { ttlToMs } from '../../shared/domain/ttl';
import { AppError } from '../../shared/errors';
import { assignedPrincipals } from '../../shared/policy/pre-approval';
import { auditEntry } from '../service/audit-entry';
import { closeBypass } from '../service/closure';
import { timelineSoFar, type TimelineSoFar } from '../service/timeline';
import { SYSTEM_CALLER, type ServiceDeps } from '../service/service-deps';
import { parseIncidentWebhook, payloadDigest } from './incident-payloads';
import { nextIncidentState } from './incident-state';
import { GENERIC_SIGNATURE_HEADER, GENERIC_TIMESTAMP_HEADER, OPSGENIE_DEFAULT_HEADER, PAGERDUTY_SIGNATURE_HEADER, verifyGenericSignature, verifyPagerDutySignature, verifySharedToken } from './webhook-auth';
import type { SecretLookup } from '../store-config';
import type { StoreReader } from '../storage/store';

/** An event may say it happened this far in the future of the store's clock (clock skew). */
export const INCIDENT_CLOCK_SKEW_MS = 5 * 60_000;

export type WebhookHeaders = Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The source's secrets: the current one and, during a rotation, the previous one. */
function secretsOf(source: IncidentSource, lookup: SecretLookup): string[] {
  const secrets = [lookup(source.secretEnv), source.previousSecretEnv ? lookup(source.previousSecretEnv) : undefined].filter((s): s is string => typeof s === 'string' && s.length > 0);
  if (secrets.length === 0) throw new AppError('unavailable', `incident source ${source.id}: its secret (environment variable ${source.secretEnv}) is not set on this store; webhooks are refused until it is`);
  return secrets;
}

function authenticate(source: IncidentSource, headers: WebhookHeaders, raw: Buffer, secrets: string[], nowMs: number): boolean {
  if (source.kind === 'pagerduty') return verifyPagerDutySignature(raw, header(headers, PAGERDUTY_SIGNATURE_HEADER), secrets);
  if (source.kind === 'opsgenie') return verifySharedToken(header(headers, source.header ?? OPSGENIE_DEFAULT_HEADER), secrets);
  return verifyGenericSignature(raw, header(headers, GENERIC_TIMESTAMP_HEADER), header(headers, GENERIC_SIGNATURE_HEADER), secrets, Math.floor(nowMs / 1000));
}

/** Thrown inside the transaction to roll it back when the receipt shows the event was seen. */
class SeenBefore extends Error {}

export interface IncidentDeps extends ServiceDeps {
  /** The sources' secrets, looked up by the names the policy gives. */
  secrets: SecretLookup;
  /** Diagnostics for refused webhooks (never secrets, never bodies). */
  warn(message: string): void;
}

/**
 * A webhook from an incident source (POST /v1/incidents/<source>/webhook, no bearer token: the
 * source's signature is the authentication). Refused with nothing written: an unknown source, a
 * source without its secret configured, a signature that does not verify (forged), a payload
 * that does not parse, an event older than the source's maxEventAge (stale) or from the
 * future, and an event id seen before with another body. The same event delivered again
 * (PagerDuty delivers at least once) is answered `duplicate` and changes nothing. Otherwise the
 * event is one incident_event ledger entry carrying the payload's digest, the incident's state
 * follows it, and when it resolves every bypass it pre-approved is revoked in the same
 * transaction (each opening its review).
 */
export async function receiveIncidentWebhook(deps: IncidentDeps, sourceId: string, headers: WebhookHeaders, raw: Buffer): Promise<IncidentWebhookResult> {
  const policy = deps.policies.policy;
  const source = policy.incidents.sources.find((s) => s.id === sourceId);
  if (!source) throw new AppError('not_found', `no incident source "${sourceId}" in the policy`);
  const now = deps.clock();
  const secrets = secretsOf(source, deps.secrets);
  if (!authenticate(source, headers, raw, secrets, now.getTime())) {
    deps.warn(`incidents: refused a ${source.kind} webhook for source ${source.id}: the ${source.kind === 'opsgenie' ? 'token' : 'signature'} does not verify`);
    throw new AppError('unauthenticated', `the webhook's ${source.kind === 'pagerduty' ? 'X-PagerDuty-Signature' : source.kind === 'opsgenie' ? `${source.header ?? OPSGENIE_DEFAULT_HEADER} token` : 'X-Breakglass-Signature'} does not verify for source ${source.id}`);
  }
  const parsed = parseIncidentWebhook(source.kind, raw);
  if (parsed.kind === 'ignored') return { outcome: 'ignored', incident: null, seq: null, revoked: [], message: parsed.reason };
  const { facts } = parsed;
  const ref = `${source.id}:${facts.incidentId}`;
  const age = now.getTime() - facts.occurredAtMs;
  if (!Number.isFinite(facts.occurredAtMs) || age > ttlToMs(source.maxEventAge)) {
    throw new AppError('invalid_input', `stale webhook: event ${facts.eventId} of ${ref} occurred at ${new Date(facts.occurredAtMs).toISOString()}, more than ${source.maxEventAge} ago (maxEventAge): refused as a possible replay`, { fieldErrors: [{ path: 'occurredAt', message: `older than ${source.maxEventAge}` }] });
  }
  if (age < -INCIDENT_CLOCK_SKEW_MS) throw new AppError('invalid_input', `webhook event ${facts.eventId} of ${ref} is dated ${new Date(facts.occurredAtMs).toISOString()}, in the future of the store's clock`, { fieldErrors: [{ path: 'occurredAt', message: 'in the future' }] });

  const digest = payloadDigest(raw);
  const at = now.toISOString();
  // A resolution revokes the bypasses the incident pre-approved and opens their reviews: their
  // timelines so far are read before the transaction (see timelineSoFar); one the event turns out
  // not to close, or one filed meanwhile, is read whole inside it.
  const soFar = new Map<string, TimelineSoFar>();
  if (facts.status === 'resolved') for (const id of await preApprovedBy(deps.store, source.id, facts.incidentId)) soFar.set(id, await timelineSoFar(deps.store, id));
  try {
    return await deps.store.transaction(async (tx) => {
      const current = await tx.getIncident(source.id, facts.incidentId);
      const next = nextIncidentState(current, facts, source, { seq: current?.eventSeq ?? 0, payloadDigest: digest });
      const { outOfOrder } = next;
      // A resolution revokes the bypasses it pre-approved. Lock them before the ledger head (the
      // first append takes it): every writer locks requests in id order and then the head, so
      // this cannot deadlock with a batch of warns confirming the same bypasses.
      const resolving = !outOfOrder && next.incident.status === 'resolved';
      const preApproved = resolving ? await tx.lockForAppend(await preApprovedBy(tx, source.id, facts.incidentId)) : [];
      const [entry] = await tx.appendLedger([
        auditEntry(at, 'incident_event', SYSTEM_CALLER, {
          target: `incident:${ref}`,
          actorRole: 'system',
          reason: next.incident.title,
          incidentRef: ref,
          data: {
            eventId: facts.eventId,
            eventType: facts.eventType,
            occurredAt: new Date(facts.occurredAtMs).toISOString(),
            payloadDigest: digest,
            // The incident's state after this event (unchanged when the event is out of order).
            ...stateData(next.incident, outOfOrder, assignedPrincipals(policy, next.incident)),
          },
        }),
      ]);
      const seq = entry!.seq;
      if (!(await tx.insertIncidentReceipt({ source: source.id, eventId: facts.eventId, payloadDigest: digest, receivedAt: at, seq }))) throw new SeenBefore();
      const incident: Incident = outOfOrder ? next.incident : { ...next.incident, eventSeq: seq, payloadDigest: digest };
      if (outOfOrder) return { outcome: 'out_of_order' as const, incident: ref, seq, revoked: [], message: `event ${facts.eventId} is older than the state already applied (${current!.updatedAt}): recorded, state unchanged` };
      await tx.putIncident(incident);
      const revoked: string[] = [];
      for (const fresh of [...preApproved].sort((a, b) => (a.id < b.id ? -1 : 1))) {
        // As of the lock: one revoked or expired meanwhile is left alone.
        if (fresh.state !== 'active') continue;
        await closeBypass(tx, fresh, 'revoke', SYSTEM_CALLER, now, `incident ${ref} resolved (ledger seq ${seq}): its pre-approval ended`, policy, soFar.get(fresh.id));
        revoked.push(fresh.id);
      }
      return { outcome: 'applied' as const, incident: ref, seq, revoked, message: `${facts.eventType}: incident ${ref} is ${incident.status}${revoked.length ? `; revoked ${revoked.join(', ')}` : ''}` };
    });
  } catch (error) {
    if (!(error instanceof SeenBefore)) throw error;
    const receipt = await deps.store.getIncidentReceipt(source.id, facts.eventId);
    if (receipt && receipt.payloadDigest !== digest) {
      deps.warn(`incidents: refused event ${facts.eventId} from ${source.id}: the id was seen before with another payload`);
      throw new AppError('conflict', `event ${facts.eventId} from ${source.id} was received before with a different payload: refused`);
    }
    return { outcome: 'duplicate', incident: ref, seq: receipt?.seq ?? null, revoked: [], message: `event ${facts.eventId} was already received at ${receipt?.receivedAt ?? '?'}: nothing changed` };
  }
}

function stateData(incident: Incident, outOfOrder: boolean, principals: string[]): Record<string, unknown> {
  return {
    source: incident.source,
    kind: incident.kind,
    incidentId: incident.incidentId,
    outOfOrder,
    status: incident.status,
    assignees: incident.assignees,
    assignedPrincipals: principals,
    serviceId: incident.serviceId,
    serviceName: incident.serviceName,
    tags: incident.tags,
    urgency: incident.urgency,
    priority: incident.priority,
    updatedAt: incident.updatedAt,
  };
}

/** The ids of the active bypasses pre-approved by this incident, in id order (the lock order). */
async function preApprovedBy(reader: StoreReader, sourceId: string, incidentId: string): Promise<string[]> {
  const active = await reader.listRequests({ states: ['active'] });
  return active.filter((r) => r.preApproval?.source === sourceId && r.preApproval.incidentId === incidentId).map((r) => r.id).sort();
}
