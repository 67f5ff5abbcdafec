import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatesReport } from '../../../../grant-store/reports/gates-report';
import { GatesReportSchema } from '../../../../shared/domain/reports';
import { DAY, HOUR, ago, dominatingGate, input } from './fixtures';


test('gates report: every figure for a ledger where one gate dominates', () => {
  const report = gatesReport(
    input({
      requests: dominatingGate,
      blocksByGate: { integration: 16, 'image-signing': 4, 'old-gate': 2 },
      evaluations: [
        { gate: 'integration', time: ago(HOUR) },
        { gate: 'integration', time: ago(8 * DAY) },
        { gate: 'integration', time: ago(31 * DAY) },
        { gate: 'perf', time: ago(89 * DAY) },
        { gate: 'perf', time: ago(90 * DAY) }, // exactly 90 days: out
      ],
    }),
  );
  GatesReportSchema.parse(report);
  assert.deepEqual(report, {
    now: '2026-11-26T12:00:00.000Z',
    totals: { bypasses: { d7: 4, d30: 7, d90: 9 }, blocks: 22, evaluationsUnderBypass: { d7: 1, d30: 2, d90: 4 } },
    gates: [
      {
        gate: 'integration',
        kind: 'slow',
        tier: 'standard',
        bypasses: { d7: 3, d30: 5, d90: 6 },
        shareOfBypasses30d: 0.7143,
        // 7 bypass requests + 1 pending (the future one excluded) against 16 blocks
        requestsToBlocks: { requests: 8, blocks: 16, ratio: 0.5 },
        evaluationsUnderBypass: { d7: 1, d30: 2, d90: 3 },
      },
      {
        gate: 'perf',
        kind: 'slow',
        tier: 'standard',
        bypasses: { d7: 1, d30: 2, d90: 2 },
        shareOfBypasses30d: 0.2857,
        requestsToBlocks: { requests: 3, blocks: 0, ratio: null },
        evaluationsUnderBypass: { d7: 0, d30: 0, d90: 1 },
      },
      {
        gate: 'image-signing',
        kind: 'safety',
        tier: 'critical',
        bypasses: { d7: 0, d30: 0, d90: 1 },
        shareOfBypasses30d: 0,
        requestsToBlocks: { requests: 1, blocks: 4, ratio: 0.25 },
        evaluationsUnderBypass: { d7: 0, d30: 0, d90: 0 },
      },
      {
        // a gate no longer in the policy keeps its history
        gate: 'old-gate',
        kind: null,
        tier: null,
        bypasses: { d7: 0, d30: 0, d90: 0 },
        shareOfBypasses30d: 0,
        requestsToBlocks: { requests: 0, blocks: 2, ratio: 0 },
        evaluationsUnderBypass: { d7: 0, d30: 0, d90: 0 },
      },
    ],
  });
});

test('gates report: no bypasses at all gives null shares, not zero', () => {
  const report = gatesReport(input({}));
  assert.equal(report.gates.length, 3);
  assert.deepEqual(
    report.gates.map((g) => [g.gate, g.shareOfBypasses30d]),
    [
      ['image-signing', null],
      ['integration', null],
      ['perf', null],
    ],
  );
});
