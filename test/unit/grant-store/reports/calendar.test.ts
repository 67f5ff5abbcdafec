import { test } from 'node:test';
import assert from 'node:assert/strict';
import { businessElapsedMs, calendarQuarter, isoWeekLabel, isoWeekStart, percentile } from '../../../../grant-store/reports/calendar';

const t = (iso: string) => Date.parse(iso);
const H = 3_600_000;

test('ISO weeks: labels across year boundaries', () => {
  assert.equal(isoWeekLabel(t('2026-11-26T12:00:00.000Z')), '2026-W48');
  assert.equal(isoWeekLabel(t('2027-01-01T00:00:00.000Z')), '2026-W53'); // Friday: belongs to 2026's week 53
  assert.equal(isoWeekLabel(t('2024-12-30T00:00:00.000Z')), '2025-W01'); // Monday of 2025's week 1
  assert.equal(new Date(isoWeekStart(t('2026-11-29T23:59:59.999Z'))).toISOString(), '2026-11-23T00:00:00.000Z'); // Sunday
});

test('quarters', () => {
  assert.deepEqual(calendarQuarter(t('2026-03-31T23:59:59.999Z')), { label: '2026-Q1', start: t('2026-01-01T00:00:00.000Z'), end: t('2026-04-01T00:00:00.000Z') });
});

test('business time skips UTC Saturdays and Sundays', () => {
  assert.equal(businessElapsedMs(t('2026-11-20T17:00:00.000Z'), t('2026-11-23T09:00:00.000Z')), 16 * H);
  assert.equal(businessElapsedMs(t('2026-11-21T10:00:00.000Z'), t('2026-11-22T10:00:00.000Z')), 0);
  assert.equal(businessElapsedMs(t('2026-11-23T09:00:00.000Z'), t('2026-11-23T08:00:00.000Z')), 0);
});

test('nearest-rank percentiles', () => {
  assert.equal(percentile([], 50), null);
  assert.equal(percentile([7], 90), 7);
  assert.equal(percentile([4, 1, 3, 2], 50), 2);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90), 10);
});
