import { test } from 'node:test';
import assert from 'node:assert/strict';
import { healthReport } from '../../../../grant-store/reports/health-report';
import { HealthReportSchema } from '../../../../shared/domain/reports';
import { dominatingGate, input } from './fixtures';

test('health report: every report at once, and bypasses per gate per ISO week for the chart', () => {
  const report = healthReport(input({ requests: dominatingGate }));
  HealthReportSchema.parse(report);
  assert.equal(report.weekly.length, 12);
  assert.deepEqual(report.weekly[0], { week: '2026-W37', from: '2026-09-07T00:00:00.000Z', counts: {} });
  // oldest first; the current (partial) week last
  assert.deepEqual(
    report.weekly.filter((w) => Object.keys(w.counts).length > 0).map((w) => [w.week, w.counts]),
    [
      ['2026-W39', { 'image-signing': 1 }], // 60 days ago: Sun 2026-09-27
      ['2026-W42', { integration: 1 }], // 40 days ago: Sat 2026-10-17
      ['2026-W44', { perf: 1 }], // 25 days ago: Sun 2026-11-01
      ['2026-W45', { integration: 1 }], // 20 days ago: Fri 2026-11-06
      ['2026-W47', { integration: 1, perf: 1 }], // 10 and 5 days ago
      ['2026-W48', { integration: 3 }], // 1, 2, 3 days ago
    ],
  );
  assert.equal(report.findings.findings.length, 2);
  assert.equal(report.gates.totals.bypasses.d90, 9);
});
