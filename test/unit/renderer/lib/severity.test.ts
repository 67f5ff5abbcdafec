import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareInbox, severityAtLeast } from '../../../../renderer/lib/severity';

describe('inbox order', () => {
  test('most severe first, then the one waiting longest', () => {
    const rows = [
      { id: 'a', severity: 'sev3', createdAt: '2026-11-26T08:00:00.000Z' },
      { id: 'b', severity: 'sev1', createdAt: '2026-11-26T10:00:00.000Z' },
      { id: 'c', severity: 'sev1', createdAt: '2026-11-26T09:00:00.000Z' },
      { id: 'd', severity: 'sev2', createdAt: '2026-11-26T07:00:00.000Z' },
    ] as const;
    assert.deepEqual([...rows].sort(compareInbox).map((r) => r.id), ['c', 'b', 'd', 'a']);
  });

  test('severity thresholds', () => {
    assert.equal(severityAtLeast('sev1', 'sev2'), true);
    assert.equal(severityAtLeast('sev2', 'sev2'), true);
    assert.equal(severityAtLeast('sev3', 'sev2'), false);
  });
});
