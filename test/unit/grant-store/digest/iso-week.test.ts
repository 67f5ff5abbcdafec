import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatIsoWeek, isoWeekAt, isoWeekBounds, isoWeekOfDate, latestSend, nextSend, parseIsoWeek, shiftIsoWeek, weeksInIsoYear, type WeeklySchedule } from '../../../../grant-store/digest/iso-week';
import { instantOfWallTime, wallTimeAt } from '../../../../grant-store/digest/zoned-time';
import { AppError } from '../../../../shared/errors';

const iso = (ms: number) => new Date(ms).toISOString();

describe('ISO weeks', () => {
  test('week numbers at year boundaries follow the Thursday rule', () => {
    assert.equal(formatIsoWeek(isoWeekOfDate({ year: 2026, month: 11, day: 26 })), '2026-W48');
    assert.equal(formatIsoWeek(isoWeekOfDate({ year: 2026, month: 12, day: 31 })), '2026-W53');
    assert.equal(formatIsoWeek(isoWeekOfDate({ year: 2027, month: 1, day: 1 })), '2026-W53');
    assert.equal(formatIsoWeek(isoWeekOfDate({ year: 2027, month: 1, day: 4 })), '2027-W01');
    assert.equal(formatIsoWeek(isoWeekOfDate({ year: 2024, month: 12, day: 30 })), '2025-W01');
    assert.equal(weeksInIsoYear(2026), 53);
    assert.equal(weeksInIsoYear(2027), 52);
    assert.equal(weeksInIsoYear(2020), 53); // leap year starting on a Wednesday
  });

  test('parsing refuses weeks the year does not have, naming the field', () => {
    assert.deepEqual(parseIsoWeek('2026-W53'), { year: 2026, week: 53 });
    for (const bad of ['2027-W53', '2026-W00', '2026-48', '2026-W480']) {
      assert.throws(() => parseIsoWeek(bad, '--week'), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && e.message.startsWith('--week'));
    }
  });

  test('shifting crosses years', () => {
    assert.equal(formatIsoWeek(shiftIsoWeek({ year: 2027, week: 1 }, -1)), '2026-W53');
    assert.equal(formatIsoWeek(shiftIsoWeek({ year: 2026, week: 48 }, -4)), '2026-W44');
  });

  test('bounds are local midnights: a week spanning the autumn DST change is 169 hours long', () => {
    const w44 = isoWeekBounds({ year: 2026, week: 44 }, 'Europe/Berlin');
    assert.equal(iso(w44.from), '2026-10-25T23:00:00.000Z'); // Monday 26 Oct 00:00 CET (UTC+1)
    const w43 = isoWeekBounds({ year: 2026, week: 43 }, 'Europe/Berlin');
    assert.equal(iso(w43.from), '2026-10-18T22:00:00.000Z'); // Monday 19 Oct 00:00 CEST
    assert.equal((w43.to - w43.from) / 3_600_000, 169); // clocks went back on Sunday 25 Oct
    assert.equal(w43.to, w44.from);
    const utc = isoWeekBounds({ year: 2026, week: 48 }, 'UTC');
    assert.deepEqual([iso(utc.from), iso(utc.to)], ['2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z']);
  });

  test('the week of an instant is read on the local wall clock', () => {
    // Sunday 29 Nov 2026 23:30 UTC is already Monday 30 Nov in Berlin (W49), still Sunday in New York (W48).
    const at = Date.parse('2026-11-29T23:30:00.000Z');
    assert.equal(formatIsoWeek(isoWeekAt(at, 'Europe/Berlin')), '2026-W49');
    assert.equal(formatIsoWeek(isoWeekAt(at, 'America/New_York')), '2026-W48');
  });
});

describe('wall time in a zone', () => {
  test('a time skipped by spring forward lands after the gap; a repeated one at its first occurrence', () => {
    // New York, Sunday 8 March 2026: 02:00 EST jumps to 03:00 EDT.
    assert.equal(iso(instantOfWallTime({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, 'America/New_York')), '2026-03-08T07:30:00.000Z'); // 03:30 EDT
    // Sunday 1 November 2026: 01:30 happens twice (EDT, then EST); the first is 05:30Z.
    assert.equal(iso(instantOfWallTime({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, 'America/New_York')), '2026-11-01T05:30:00.000Z');
    const w = wallTimeAt(Date.parse('2026-11-01T06:30:00.000Z'), 'America/New_York');
    assert.deepEqual([w.hour, w.minute], [1, 30]); // the second 01:30 (EST)
  });
});

describe('the weekly schedule', () => {
  const berlin: WeeklySchedule = { weekday: 'monday', hour: 8, minute: 0, timeZone: 'Europe/Berlin' };

  test('Monday 08:00 Berlin is 07:00Z in winter and 06:00Z in summer, and reports the week that ended', () => {
    const winter = latestSend(Date.parse('2026-11-30T07:00:00.000Z'), berlin);
    assert.equal(iso(winter.sendAt), '2026-11-30T07:00:00.000Z');
    assert.equal(formatIsoWeek(winter.week), '2026-W48');
    const summer = latestSend(Date.parse('2026-07-06T06:00:00.000Z'), berlin);
    assert.equal(iso(summer.sendAt), '2026-07-06T06:00:00.000Z');
    assert.equal(formatIsoWeek(summer.week), '2026-W27');
  });

  test('one millisecond before the send time the previous send is the latest; nextSend is the coming one', () => {
    const before = Date.parse('2026-11-30T06:59:59.999Z');
    assert.equal(iso(latestSend(before, berlin).sendAt), '2026-11-23T07:00:00.000Z');
    assert.equal(formatIsoWeek(latestSend(before, berlin).week), '2026-W47');
    const next = nextSend(before, berlin);
    assert.equal(iso(next.sendAt), '2026-11-30T07:00:00.000Z');
    assert.equal(formatIsoWeek(next.week), '2026-W48');
    // The Monday after the spring change: 08:00 CEST = 06:00Z.
    assert.equal(iso(nextSend(Date.parse('2026-03-28T12:00:00.000Z'), berlin).sendAt), '2026-03-30T06:00:00.000Z');
  });

  test('a schedule in the spring-forward gap runs once, just after the gap', () => {
    const ny: WeeklySchedule = { weekday: 'sunday', hour: 2, minute: 30, timeZone: 'America/New_York' };
    const { sendAt, week } = nextSend(Date.parse('2026-03-07T12:00:00.000Z'), ny);
    assert.equal(iso(sendAt), '2026-03-08T07:30:00.000Z');
    assert.equal(formatIsoWeek(week), '2026-W09'); // the Sunday send reports the complete week before its own
  });
});
