/**
 * The decision SLA: how long approvers have to decide a request. One rule for the console's main
 * process (inbox deadlines, "SLA running out" notifications, tray order), its renderer (the timer's
 * text and colour) and the grant store's gate-health report (decision times against the target).
 *
 * Source: shared/seeds/000 ("Measuring whether break-glass is healthy"): "under fifteen minutes for
 * incident-flagged requests, under a business day for the rest". docs/gate-health.md fixes what a
 * business day is: 24 hours of business time, where only UTC Monday-Friday counts. So a request
 * filed on Friday 15:00 UTC is due Monday 15:00 UTC, and one filed on Saturday 11:00 UTC starts
 * counting on Monday 00:00 and is due Tuesday 00:00 UTC.
 */

/** Decisions on incident-flagged requests (an incident reference) are due within 15 minutes, wall clock. */
export const INCIDENT_DECISION_SLA_MS = 15 * 60_000;
/** Everything else within one business day: 24 hours of UTC Monday-Friday time. */
export const BUSINESS_DAY_DECISION_SLA_MS = 24 * 3_600_000;
/** The SLA turns amber when less than this share of its window is left (on its own clock), red once spent. */
export const SLA_AMBER_REMAINING_SHARE = 1 / 3;

const DAY_MS = 86_400_000;

export type SlaClock = 'wall' | 'business';
export type SlaLevel = 'ok' | 'amber' | 'red';

export interface DecisionSla {
  /** Incident-flagged: 15 minutes of wall-clock time; otherwise one business day. */
  incident: boolean;
  clock: SlaClock;
  /** The window on its clock (15 minutes, or 24 business hours). */
  targetMs: number;
  /** When a decision is due (epoch ms). */
  dueAt: number;
  /** Wall-clock time until `dueAt` (negative once overdue): what a countdown shows. */
  remainingMs: number;
  /** Time left on the SLA's own clock (business time for business-day requests), never negative. */
  remainingOnClockMs: number;
  /** ok; amber in the last third of the window (on its clock); red once due. */
  level: SlaLevel;
  overdue: boolean;
}

function isWeekendDay(day: number): boolean {
  return day === 0 || day === 6;
}

function utcMidnightAfter(atMs: number): number {
  const d = new Date(atMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) + DAY_MS;
}

/** Milliseconds between `fromMs` and `toMs` that fall on UTC Monday-Friday (0 when `toMs <= fromMs`). */
export function businessElapsedMs(fromMs: number, toMs: number): number {
  let total = 0;
  let cursor = fromMs;
  while (cursor < toMs) {
    const segmentEnd = Math.min(utcMidnightAfter(cursor), toMs);
    if (!isWeekendDay(new Date(cursor).getUTCDay())) total += segmentEnd - cursor;
    cursor = segmentEnd;
  }
  return total;
}

/** The earliest time T with businessElapsedMs(fromMs, T) === amountMs (weekend time does not count). */
export function addBusinessTime(fromMs: number, amountMs: number): number {
  if (amountMs <= 0) return fromMs;
  let cursor = fromMs;
  let left = amountMs;
  for (;;) {
    const dayEnd = utcMidnightAfter(cursor);
    if (!isWeekendDay(new Date(cursor).getUTCDay())) {
      if (cursor + left <= dayEnd) return cursor + left;
      left -= dayEnd - cursor;
    }
    cursor = dayEnd;
  }
}

/** What the SLA needs to know about a request. */
export interface SlaSubject {
  /** Server time of filing (ISO 8601). */
  createdAt: string;
  incidentRef: string | null;
}

/** When a decision on the request is due (epoch ms). */
export function decisionDueAt(request: SlaSubject): number {
  const created = Date.parse(request.createdAt);
  return request.incidentRef ? created + INCIDENT_DECISION_SLA_MS : addBusinessTime(created, BUSINESS_DAY_DECISION_SLA_MS);
}

/** The request's decision SLA as of `nowMs`: deadline, time left and colour, from one computation. */
export function decisionSla(request: SlaSubject, nowMs: number): DecisionSla {
  const incident = Boolean(request.incidentRef);
  const clock: SlaClock = incident ? 'wall' : 'business';
  const targetMs = incident ? INCIDENT_DECISION_SLA_MS : BUSINESS_DAY_DECISION_SLA_MS;
  const dueAt = decisionDueAt(request);
  const remainingMs = dueAt - nowMs;
  const overdue = remainingMs <= 0;
  const remainingOnClockMs = overdue ? 0 : incident ? remainingMs : businessElapsedMs(nowMs, dueAt);
  const level: SlaLevel = overdue ? 'red' : remainingOnClockMs < targetMs * SLA_AMBER_REMAINING_SHARE ? 'amber' : 'ok';
  return { incident, clock, targetMs, dueAt, remainingMs, remainingOnClockMs, level, overdue };
}
