import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { businessDayDeadline, decisionSla, INCIDENT_DECISION_SLA_MS } from '../../../../renderer/lib/sla';

const at = (iso: string) => new Date(iso).getTime();

describe('decision SLA', () => {
  test('incident-flagged requests are due in 15 minutes, amber in the last third, red once overdue', () => {
    const request = { createdAt: '2026-11-26T10:00:00.000Z', incidentRef: 'INC-1' };
    const fresh = decisionSla(request, at('2026-11-26T10:01:00.000Z'));
    assert.equal(fresh.dueAt, at('2026-11-26T10:00:00.000Z') + INCIDENT_DECISION_SLA_MS);
    assert.equal(fresh.level, 'ok');
    assert.equal(fresh.incident, true);
    assert.equal(decisionSla(request, at('2026-11-26T10:11:00.000Z')).level, 'amber');
    assert.equal(decisionSla(request, at('2026-11-26T10:15:00.000Z')).level, 'red');
  });

  test('other requests get one business day', () => {
    const request = { createdAt: '2026-11-24T09:00:00.000Z', incidentRef: null }; // a Tuesday
    const status = decisionSla(request, at('2026-11-24T10:00:00.000Z'));
    assert.equal(status.dueAt, at('2026-11-25T09:00:00.000Z'));
    assert.equal(status.level, 'ok');
    assert.equal(decisionSla(request, at('2026-11-25T02:00:00.000Z')).level, 'amber');
  });

  test('a deadline never lands on a weekend', () => {
    // Friday 15:00 UTC → Monday 15:00 UTC.
    assert.equal(businessDayDeadline(at('2026-11-27T15:00:00.000Z')), at('2026-11-30T15:00:00.000Z'));
    // Saturday → counting starts Monday 00:00 UTC → due Tuesday 00:00 UTC.
    assert.equal(businessDayDeadline(at('2026-11-28T11:00:00.000Z')), at('2026-12-01T00:00:00.000Z'));
  });
});
