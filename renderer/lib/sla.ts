import type { BypassRequest } from '../../shared/domain/request';

/** Decisions on incident-flagged requests are due within 15 minutes (issue 5, issue 7 targets). */
export const INCIDENT_DECISION_SLA_MS = 15 * 60_000;
/** Everything else is due within one business day. */
const DAY_MS = 86_400_000;
/** The timer turns amber when less than this share of the window is left, red when it is spent. */
const AMBER_REMAINING_SHARE = 1 / 3;

export type SlaLevel = 'ok' | 'amber' | 'red';

export interface SlaStatus {
  dueAt: number;
  remainingMs: number;
  windowMs: number;
  level: SlaLevel;
  incident: boolean;
}

const isWeekend = (t: number) => {
  const day = new Date(t).getUTCDay();
  return day === 0 || day === 6;
};

/**
 * One business day after `createdAt` (UTC): a request filed on a weekend starts counting on
 * Monday 00:00 UTC, and a deadline that lands on a weekend moves to the next Monday.
 */
export function businessDayDeadline(createdAt: number): number {
  let start = createdAt;
  while (isWeekend(start)) {
    const d = new Date(start);
    start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  }
  let due = start + DAY_MS;
  while (isWeekend(due)) due += DAY_MS;
  return due;
}

export function decisionSla(request: Pick<BypassRequest, 'createdAt' | 'incidentRef'>, now: number): SlaStatus {
  const created = new Date(request.createdAt).getTime();
  const incident = Boolean(request.incidentRef);
  const dueAt = incident ? created + INCIDENT_DECISION_SLA_MS : businessDayDeadline(created);
  const windowMs = dueAt - created;
  const remainingMs = dueAt - now;
  const level: SlaLevel = remainingMs <= 0 ? 'red' : remainingMs < windowMs * AMBER_REMAINING_SHARE ? 'amber' : 'ok';
  return { dueAt, remainingMs, windowMs, level, incident };
}
