import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addBusinessTime, businessElapsedMs, decisionDueAt, decisionSla, INCIDENT_DECISION_SLA_MS } from '../../../../shared/policy/sla';

const at = (iso: string) => Date.parse(iso);
const H = 3_600_000;
const normal = (createdAt: string) => ({ createdAt, incidentRef: null });

describe('decision SLA (one rule for the console and the store)', () => {
  test('a request filed on Saturday 11:00 UTC starts counting on Monday and is due Tuesday 00:00 UTC', () => {
    assert.equal(decisionDueAt(normal('2026-11-28T11:00:00.000Z')), at('2026-12-01T00:00:00.000Z'));
    // Sunday just before midnight: the same deadline.
    assert.equal(decisionDueAt(normal('2026-11-29T23:59:00.000Z')), at('2026-12-01T00:00:00.000Z'));
  });

  test('one business day is 24 hours of UTC Monday-Friday time', () => {
    // Tuesday 09:00 -> Wednesday 09:00.
    assert.equal(decisionDueAt(normal('2026-11-24T09:00:00.000Z')), at('2026-11-25T09:00:00.000Z'));
    // Friday 15:00 -> 9 h on Friday + 15 h on Monday.
    assert.equal(decisionDueAt(normal('2026-11-27T15:00:00.000Z')), at('2026-11-30T15:00:00.000Z'));
    // Friday 23:00 -> 1 h on Friday + 23 h on Monday.
    assert.equal(decisionDueAt(normal('2026-11-27T23:00:00.000Z')), at('2026-11-30T23:00:00.000Z'));
    // Thursday 00:00 -> Friday 00:00, never pushed past a weekend it does not touch.
    assert.equal(decisionDueAt(normal('2026-11-26T00:00:00.000Z')), at('2026-11-27T00:00:00.000Z'));
    // Across a month and a year boundary (Thursday 31 Dec 2026 12:00 -> Friday 1 Jan 2027 12:00).
    assert.equal(decisionDueAt(normal('2026-12-31T12:00:00.000Z')), at('2027-01-01T12:00:00.000Z'));
  });

  test('the deadline and the gate-health clock agree: exactly one business day elapses from filing to due', () => {
    for (const created of ['2026-11-28T11:00:00.000Z', '2026-11-27T15:00:00.000Z', '2026-11-24T09:00:00.000Z', '2026-11-29T00:00:00.000Z', '2026-11-27T23:59:59.999Z']) {
      const due = decisionDueAt(normal(created));
      assert.equal(businessElapsedMs(at(created), due), 24 * H, created);
      assert.ok(businessElapsedMs(at(created), due - 1) < 24 * H, `${created}: the earliest such time`);
    }
    assert.equal(addBusinessTime(at('2026-11-28T11:00:00.000Z'), 0), at('2026-11-28T11:00:00.000Z'));
  });

  test('incident-flagged requests are due in 15 minutes of wall-clock time, weekends included', () => {
    const request = { createdAt: '2026-11-28T11:00:00.000Z', incidentRef: 'INC-1' };
    assert.equal(decisionDueAt(request), at('2026-11-28T11:00:00.000Z') + INCIDENT_DECISION_SLA_MS);
    const fresh = decisionSla(request, at('2026-11-28T11:01:00.000Z'));
    assert.deepEqual([fresh.level, fresh.clock, fresh.incident, fresh.remainingMs], ['ok', 'wall', true, 14 * 60_000]);
    assert.equal(decisionSla(request, at('2026-11-28T11:10:30.000Z')).level, 'amber');
    const due = decisionSla(request, at('2026-11-28T11:15:00.000Z'));
    assert.deepEqual([due.level, due.overdue, due.remainingOnClockMs], ['red', true, 0]);
  });

  test('the colour follows business time left: amber in the last 8 business hours, never because of a weekend', () => {
    const friday = normal('2026-11-27T15:00:00.000Z');
    // Sunday 15:00: 24 wall-clock hours left, but all 15 business hours of Monday: still ok.
    const sunday = decisionSla(friday, at('2026-11-29T15:00:00.000Z'));
    assert.equal(sunday.level, 'ok');
    assert.equal(sunday.remainingMs, 24 * H);
    assert.equal(sunday.remainingOnClockMs, 15 * H);
    assert.equal(decisionSla(friday, at('2026-11-30T06:59:00.000Z')).level, 'ok');
    assert.equal(decisionSla(friday, at('2026-11-30T07:01:00.000Z')).level, 'amber');
    const late = decisionSla(friday, at('2026-11-30T16:00:00.000Z'));
    assert.deepEqual([late.level, late.overdue, late.remainingMs], ['red', true, -H]);
  });

  test('the text and the colour come from the same deadline (the timer never mixes two answers)', () => {
    const saturday = normal('2026-11-28T11:00:00.000Z');
    const monday = decisionSla(saturday, at('2026-11-30T23:00:00.000Z'));
    assert.equal(monday.dueAt, at('2026-12-01T00:00:00.000Z'));
    assert.equal(monday.remainingMs, H);
    assert.equal(monday.level, 'amber');
    assert.equal(decisionSla(saturday, at('2026-12-01T00:00:00.000Z')).level, 'red');
  });
});
