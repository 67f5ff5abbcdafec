import type { BypassRequest } from '../../shared/domain/request';
import type { DecisionTimeClass, DecisionTimesReport } from '../../shared/domain/reports';
import { businessElapsedMs, fraction, inTrailingWindow, iso, ms, percentile } from './calendar';
import type { ReportInput } from './report-input';
import { BUSINESS_DAY_DECISION_TARGET_MS, DECISION_WINDOW_DAYS, INCIDENT_DECISION_TARGET_MS } from './thresholds';

/**
 * Requests no approver decided: a standing scope (approved when the policy was written), an
 * on-call incident's pre-approval, an emergency credential. Nobody waited for a decision, so
 * they say nothing about decision times (counting them as decided in 0 s would flatter the
 * 15-minute target).
 */
export function decidedInAdvance(request: BypassRequest): boolean {
  return request.standingScope !== null || (request.emergencyCredential ?? null) !== null || (request.preApproval ?? null) !== null;
}

/**
 * When a request was decided, as its requester experiences it: activation (the approval
 * threshold was met) or the denial that closed it. Null while undecided, for requests that were
 * cancelled or lapsed, and for requests decided in advance (nobody waited).
 */
export function decidedAtMs(request: BypassRequest): number | null {
  if (decidedInAdvance(request)) return null;
  if (request.activatedAt !== null) return ms(request.activatedAt);
  if (request.state === 'denied' && request.closedAt !== null) return ms(request.closedAt);
  return null;
}

/** An incident-flagged request carries an incident reference (mandatory on sev1/sev2). */
export function isIncidentFlagged(request: BypassRequest): boolean {
  return request.incidentRef !== null;
}

interface ClassSpec {
  class: 'incident' | 'other';
  clock: 'wall' | 'business';
  targetMs: number;
}

const INCIDENT: ClassSpec = { class: 'incident', clock: 'wall', targetMs: INCIDENT_DECISION_TARGET_MS };
const OTHER: ClassSpec = { class: 'other', clock: 'business', targetMs: BUSINESS_DAY_DECISION_TARGET_MS };

function elapsed(spec: ClassSpec, fromMs: number, toMs: number): number {
  return spec.clock === 'wall' ? Math.max(0, toMs - fromMs) : businessElapsedMs(fromMs, toMs);
}

function classReport(spec: ClassSpec, requests: readonly BypassRequest[], nowMs: number): DecisionTimeClass {
  const durations: number[] = [];
  let lapsed = 0;
  let waiting = 0;
  let waitingPastTarget = 0;
  for (const request of requests) {
    const createdMs = ms(request.createdAt);
    if (createdMs > nowMs || decidedInAdvance(request)) continue;
    const decided = decidedAtMs(request);
    if (decided !== null && decided <= nowMs) {
      if (inTrailingWindow(decided, nowMs, DECISION_WINDOW_DAYS)) durations.push(elapsed(spec, createdMs, decided));
      continue;
    }
    const closedMs = request.closedAt === null ? null : ms(request.closedAt);
    const stillOpenAtNow = decided !== null || closedMs === null || closedMs > nowMs;
    if (stillOpenAtNow) {
      waiting += 1;
      if (elapsed(spec, createdMs, nowMs) > spec.targetMs) waitingPastTarget += 1;
    } else if (request.state === 'lapsed' && inTrailingWindow(closedMs, nowMs, DECISION_WINDOW_DAYS)) {
      lapsed += 1;
    }
  }
  const withinTarget = durations.filter((d) => d <= spec.targetMs).length;
  const p90 = percentile(durations, 90);
  return {
    class: spec.class,
    clock: spec.clock,
    targetMs: spec.targetMs,
    decided: durations.length,
    p50Ms: percentile(durations, 50),
    p90Ms: p90,
    withinTarget,
    withinTargetRate: fraction(withinTarget, durations.length),
    p90MeetsTarget: p90 === null ? null : p90 <= spec.targetMs,
    lapsed,
    waiting,
    waitingPastTarget,
  };
}

/**
 * Time from request to decision over the trailing 90 days, p50/p90 by nearest rank:
 * incident-flagged requests in wall-clock time against 15 minutes, the rest in business time
 * (UTC Monday-Friday) against one business day.
 */
export function decisionTimesReport(input: ReportInput): DecisionTimesReport {
  const nowMs = input.now.getTime();
  return {
    now: iso(nowMs),
    windowDays: DECISION_WINDOW_DAYS,
    incident: classReport(INCIDENT, input.requests.filter(isIncidentFlagged), nowMs),
    other: classReport(OTHER, input.requests.filter((r) => !isIncidentFlagged(r)), nowMs),
  };
}
