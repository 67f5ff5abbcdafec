import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAge, formatRelative, formatUtc, withReadableTimes } from '../../../../renderer/lib/time';

describe('time formatting', () => {
  test('exact UTC timestamps', () => {
    assert.equal(formatUtc('2026-11-26T14:03:12.345Z'), '2026-11-26 14:03:12 UTC');
    assert.equal(formatUtc('not a time'), 'not a time');
  });

  test('ISO instants inside the store prose read as UTC times; the rest is untouched', () => {
    assert.equal(
      withReadableTimes('bypass byp_1 active until 2026-11-30T13:08:07.146Z (approved by carol)'),
      'bypass byp_1 active until 2026-11-30 13:08:07 UTC (approved by carol)',
    );
    assert.equal(withReadableTimes('from 2026-11-30T13:08:07Z to 2026-12-01T00:00:00.000Z'), 'from 2026-11-30 13:08:07 UTC to 2026-12-01 00:00:00 UTC');
    assert.equal(withReadableTimes('release/2026-11-30-hotfix and 2026-11-30T13:08'), 'release/2026-11-30-hotfix and 2026-11-30T13:08');
  });

  test('compact ages', () => {
    assert.equal(formatAge(42_000), '42s');
    assert.equal(formatAge(7 * 60_000), '7m');
    assert.equal(formatAge((2 * 60 + 5) * 60_000), '2h 05m');
    assert.equal(formatAge((3 * 24 + 4) * 3_600_000), '3d 4h');
    assert.equal(formatAge(-5), '0s');
  });

  test('relative times', () => {
    const now = new Date('2026-11-26T12:00:00.000Z').getTime();
    assert.equal(formatRelative('2026-11-26T12:04:00.000Z', now), 'in 4m');
    assert.equal(formatRelative('2026-11-26T11:57:00.000Z', now), '3m ago');
  });
});
