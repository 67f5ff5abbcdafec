import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionTimesReport } from '../../../../grant-store/reports/decision-times-report';
import { DecisionTimesReportSchema } from '../../../../shared/domain/reports';
import { DAY, HOUR, MINUTE, ago, input, request } from './fixtures';

const incidentDecided = (id: string, minutes: number, state: 'expired' | 'denied' = 'expired') => {
  const decided = ago(DAY);
  const createdAt = ago(DAY + minutes * MINUTE);
  return state === 'denied'
    ? request({ id, incidentRef: 'INC-1190', state, createdAt, closedAt: decided, closedBy: 'bob' })
    : request({ id, incidentRef: 'INC-1190', state, createdAt, activatedAt: decided });
};

test('decision times: incident-flagged (wall clock, 15 min) vs the rest (business time, one business day)', () => {
  const requests = [
    incidentDecided('req_i5', 5),
    incidentDecided('req_i10', 10),
    incidentDecided('req_i14', 14),
    incidentDecided('req_i15', 15, 'denied'), // exactly on target counts as within
    incidentDecided('req_i20', 20),
    incidentDecided('req_i60', 60),
    request({ id: 'req_i_lapsed', incidentRef: 'INC-7', state: 'lapsed', createdAt: ago(3 * DAY), closedAt: ago(2 * DAY) }),
    request({ id: 'req_i_wait_long', incidentRef: 'INC-8', createdAt: ago(20 * MINUTE) }),
    request({ id: 'req_i_wait_short', incidentRef: 'INC-9', state: 'needs_info', createdAt: ago(5 * MINUTE) }),
    request({ id: 'req_i_standing', incidentRef: 'INC-10', standingScope: 'release-tooling', createdAt: ago(DAY), activatedAt: ago(DAY) }),
    // Nobody decided these either: an emergency credential, an on-call incident's pre-approval.
    request({ id: 'req_i_emergency', incidentRef: 'INC-11', emergencyCredential: 'emc_0123456789abcdef0123456789', createdAt: ago(DAY), activatedAt: ago(DAY) }),
    request({ id: 'req_i_preapproved', incidentRef: 'pagerduty:PGR0VU2', preApproval: { source: 'pagerduty', incidentId: 'PGR0VU2', rule: 'api-outage', payloadDigest: `sha256:${'a'.repeat(64)}`, eventSeq: 7 }, createdAt: ago(DAY), activatedAt: ago(DAY) }),
    // the rest, in business time (NOW is Thursday 2026-11-26 12:00 UTC)
    request({ id: 'req_o_weekend', createdAt: '2026-11-20T17:00:00.000Z', activatedAt: '2026-11-23T09:00:00.000Z' }), // Fri 17:00 -> Mon 09:00 = 16h business
    request({ id: 'req_o_26h', state: 'denied', createdAt: '2026-11-24T10:00:00.000Z', closedAt: '2026-11-25T12:00:00.000Z', closedBy: 'bob' }),
    request({ id: 'req_o_1h', createdAt: '2026-11-25T09:00:00.000Z', activatedAt: '2026-11-25T10:00:00.000Z' }),
    request({ id: 'req_o_waiting', createdAt: '2026-11-23T09:00:00.000Z' }), // 75 business hours by now
    request({ id: 'req_o_cancelled', state: 'cancelled', createdAt: ago(2 * DAY), closedAt: ago(DAY) }),
    request({ id: 'req_o_old', createdAt: ago(92 * DAY), activatedAt: ago(91 * DAY) }), // decided outside the 90-day window
  ];
  const report = decisionTimesReport(input({ requests }));
  DecisionTimesReportSchema.parse(report);
  assert.deepEqual(report, {
    now: '2026-11-26T12:00:00.000Z',
    windowDays: 90,
    incident: {
      class: 'incident',
      clock: 'wall',
      targetMs: 15 * MINUTE,
      decided: 6,
      p50Ms: 14 * MINUTE, // nearest rank 3 of [5, 10, 14, 15, 20, 60]
      p90Ms: 60 * MINUTE, // nearest rank 6
      withinTarget: 4,
      withinTargetRate: 0.6667,
      p90MeetsTarget: false,
      lapsed: 1,
      waiting: 2,
      waitingPastTarget: 1,
    },
    other: {
      class: 'other',
      clock: 'business',
      targetMs: 24 * HOUR,
      decided: 3,
      p50Ms: 16 * HOUR,
      p90Ms: 26 * HOUR,
      withinTarget: 2,
      withinTargetRate: 0.6667,
      p90MeetsTarget: false,
      lapsed: 0,
      waiting: 1,
      waitingPastTarget: 1,
    },
  });
});

test('decision times: no decisions gives nulls, not zeros', () => {
  const report = decisionTimesReport(input({}));
  assert.deepEqual(
    [report.incident.p50Ms, report.incident.p90Ms, report.incident.withinTargetRate, report.incident.p90MeetsTarget, report.other.decided],
    [null, null, null, null, 0],
  );
});
