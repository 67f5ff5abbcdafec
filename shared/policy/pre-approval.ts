import type { Incident } from '../domain/incident';
import type { Policy } from '../domain/policy';
import type { PreApprovalRule } from '../domain/policy-incidents';
import type { Scope } from '../domain/common';
import { ttlToMs } from '../domain/ttl';
import { scopeCovers } from './scope-match';

/** The request facts a pre-approval is decided on. */
export interface PreApprovalAsk {
  requester: string;
  gate: string;
  scope: Scope;
  ttl: string;
}

export type PreApprovalDecision =
  | { ok: true; rule: PreApprovalRule }
  | { ok: false; field: 'incidentRef' | 'gate' | 'scope' | 'ttl'; reason: string };

/** The principal an incident-system user id maps to (ids compare case-insensitively, like emails). */
export function principalOfResponder(policy: Policy, source: string, externalId: string): string | undefined {
  const id = externalId.toLowerCase();
  return policy.incidents.responders.find((r) => (r.ids[source] ?? []).some((x) => x.toLowerCase() === id))?.principal;
}

/** Principals currently assigned to the incident (unmapped assignees are left out). */
export function assignedPrincipals(policy: Policy, incident: Incident): string[] {
  return [...new Set(incident.assignees.map((a) => principalOfResponder(policy, incident.source, a)).filter((p): p is string => p !== undefined))];
}

function matchesList(values: readonly (string | null)[], allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  const wanted = new Set(allowed.map((a) => a.toLowerCase()));
  return values.some((v) => v !== null && wanted.has(v.toLowerCase()));
}

/** The rules whose source, service and urgency/priority match the incident. */
export function rulesForIncident(policy: Policy, incident: Incident): PreApprovalRule[] {
  return policy.incidents.rules.filter(
    (rule) =>
      rule.source === incident.source &&
      matchesList([incident.serviceId, incident.serviceName, ...incident.tags], rule.services) &&
      matchesList([incident.urgency], rule.urgencies) &&
      matchesList([incident.priority], rule.priorities),
  );
}

/**
 * Whether `incident` pre-approves this request: the incident is open (triggered or
 * acknowledged), the requester is one of its currently assigned responders, and a rule for the
 * incident's service and urgency/priority lists the gate, a scope the request stays within, and
 * a maximum TTL the request does not exceed. Refusals say which of these failed.
 */
export function decidePreApproval(policy: Policy, citation: string, incident: Incident | undefined, ask: PreApprovalAsk): PreApprovalDecision {
  if (!incident) return { ok: false, field: 'incidentRef', reason: `unknown incident ${citation}: the store has received no verified webhook for it` };
  if (incident.status === 'resolved') return { ok: false, field: 'incidentRef', reason: `incident ${citation} is resolved: pre-approval ended with it` };
  const assigned = assignedPrincipals(policy, incident);
  if (!assigned.includes(ask.requester)) {
    return { ok: false, field: 'incidentRef', reason: `${ask.requester} is not assigned to incident ${citation} (assigned: ${assigned.length ? assigned.join(', ') : incident.assignees.length ? 'nobody mapped to a principal' : 'nobody'})` };
  }
  const rules = rulesForIncident(policy, incident);
  if (rules.length === 0) return { ok: false, field: 'incidentRef', reason: `no pre-approval rule covers incident ${citation} (service ${incident.serviceName ?? incident.serviceId ?? '-'}, urgency ${incident.urgency ?? '-'}, priority ${incident.priority ?? '-'})` };
  const forGate = rules.filter((r) => r.gates.includes(ask.gate));
  if (forGate.length === 0) return { ok: false, field: 'gate', reason: `the pre-approval rule(s) for incident ${citation} (${rules.map((r) => r.id).join(', ')}) do not cover gate ${ask.gate}` };
  const inScope = forGate.filter((r) => r.scopes.some((s) => scopeCovers(s, ask.scope)));
  if (inScope.length === 0) return { ok: false, field: 'scope', reason: `the scope is outside what rule(s) ${forGate.map((r) => r.id).join(', ')} pre-approve: it must contain one of ${forGate.flatMap((r) => r.scopes.map((s) => Object.entries(s).map(([k, v]) => `${k}=${v}`).join(','))).join(' | ')}` };
  const withinTtl = inScope.filter((r) => ttlToMs(ask.ttl) <= ttlToMs(r.maxTtl));
  if (withinTtl.length === 0) return { ok: false, field: 'ttl', reason: `pre-approval for incident ${citation} grants at most ${inScope.map((r) => r.maxTtl).join(' / ')}; ask for less or file for a normal approval` };
  return { ok: true, rule: withinTtl[0]! };
}
