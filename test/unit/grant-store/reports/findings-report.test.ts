import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsReport } from '../../../../grant-store/reports/findings-report';
import { FindingsReportSchema } from '../../../../shared/domain/reports';
import { DAY, bypass, dominatingGate, input } from './fixtures';

test('findings: a dominating gate and a rising trend, with their evidence', () => {
  const report = findingsReport(input({ requests: dominatingGate }));
  FindingsReportSchema.parse(report);
  assert.deepEqual(report, {
    now: '2026-11-26T12:00:00.000Z',
    findings: [
      {
        id: 'gate_dominates:integration:2026-W48',
        kind: 'gate_dominates',
        gate: 'integration',
        action: 'fix the gate',
        title: 'Gate integration takes 71% of all bypasses',
        message:
          'Gate integration was bypassed 5 times out of 7 bypasses in the last 30 days (71%). A gate that dominates the bypass log is mis-designed (too slow, too flaky, or testing the wrong thing): fix the gate, do not normalize the bypass.',
        evidence: {
          kind: 'gate_dominates',
          window: { from: '2026-10-27T12:00:00.000Z', to: '2026-11-26T12:00:00.000Z' },
          gateBypasses: 5,
          allBypasses: 7,
          share: 0.7143,
          thresholdShare: 0.5,
          minBypasses: 3,
          requestIds: ['req_int5', 'req_int4', 'req_int3', 'req_int2', 'req_int1'],
        },
      },
      {
        id: 'rising_trend:all:2026-W48',
        kind: 'rising_trend',
        gate: null,
        action: 'fix the gate',
        title: 'Bypasses are rising: 7 in the last 30 days vs 1 before',
        message:
          '7 bypasses in the last 30 days against 1 in the 30 days before: the gates are drifting out of step with how the teams work. Review the gate set and fix the gates that are bypassed most (starting with integration); some may be theatre.',
        evidence: {
          kind: 'rising_trend',
          recent: { from: '2026-10-27T12:00:00.000Z', to: '2026-11-26T12:00:00.000Z', count: 7 },
          previous: { from: '2026-09-27T12:00:00.000Z', to: '2026-10-27T12:00:00.000Z', count: 1 },
          factor: 1.5,
          minRecent: 5,
          byGate: [
            { gate: 'integration', recent: 5, previous: 1 },
            { gate: 'perf', recent: 2, previous: 0 },
          ],
          requestIds: ['req_perf2', 'req_int5', 'req_int4', 'req_perf1', 'req_int3', 'req_int2', 'req_int1'],
        },
      },
    ],
  });
});

const at = (iso: string) => (Date.parse('2026-11-26T12:00:00.000Z') - Date.parse(iso));

test('findings: a gate bypassed in each of the last 4 ISO weeks; a gap or exactly 50% raises nothing', () => {
  const requests = [
    // perf: once in each of W44..W47, on the first and last millisecond of the span
    bypass('req_p44', 'perf', at('2026-10-26T00:00:00.000Z')),
    bypass('req_p45', 'perf', at('2026-11-04T09:00:00.000Z')),
    bypass('req_p46', 'perf', at('2026-11-12T09:00:00.000Z')),
    bypass('req_p47', 'perf', at('2026-11-22T23:59:59.999Z')),
    // integration: W45, W46, W47 but not W44 -> no finding; 3 of 6 in 30 days = exactly 50% -> no finding
    bypass('req_i45', 'integration', at('2026-11-03T09:00:00.000Z')),
    bypass('req_i46', 'integration', at('2026-11-10T09:00:00.000Z')),
    bypass('req_i47', 'integration', at('2026-11-17T09:00:00.000Z')),
    // five older bypasses keep the trend flat: 6 recent < 1.5 x (5 + req_p44)
    ...[32, 35, 36, 37, 38].map((d) => bypass(`req_old${d}`, 'image-signing', d * DAY)),
  ];
  const report = findingsReport(input({ requests }));
  FindingsReportSchema.parse(report);
  assert.deepEqual(report.findings, [
    {
      id: 'gate_bypassed_every_week:perf:2026-W48',
      kind: 'gate_bypassed_every_week',
      gate: 'perf',
      action: 'fix the gate',
      title: 'Gate perf is bypassed every week',
      message: 'Gate perf was bypassed in each of the last 4 weeks (1, 1, 1, 1; 4 in all). Breaking the glass has become the routine way past this gate: fix the gate, do not normalize the bypass.',
      evidence: {
        kind: 'gate_bypassed_every_week',
        weeks: [
          { week: '2026-W44', from: '2026-10-26T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z', count: 1, requestIds: ['req_p44'] },
          { week: '2026-W45', from: '2026-11-02T00:00:00.000Z', to: '2026-11-09T00:00:00.000Z', count: 1, requestIds: ['req_p45'] },
          { week: '2026-W46', from: '2026-11-09T00:00:00.000Z', to: '2026-11-16T00:00:00.000Z', count: 1, requestIds: ['req_p46'] },
          { week: '2026-W47', from: '2026-11-16T00:00:00.000Z', to: '2026-11-23T00:00:00.000Z', count: 1, requestIds: ['req_p47'] },
        ],
        requestIds: ['req_p44', 'req_p45', 'req_p46', 'req_p47'],
      },
    },
  ]);
});

/** n bypasses on n different gates in the last 30 days, m in the 30 days before: only the trend can fire. */
function spread(recent: number, previous: number) {
  return [
    ...Array.from({ length: recent }, (_, i) => bypass(`req_r${i}`, `gate-r${i}`, (i + 1) * DAY)),
    ...Array.from({ length: previous }, (_, i) => bypass(`req_p${i}`, `gate-p${i}`, (31 + i) * DAY)),
  ];
}

test('findings: rising trend boundaries (at least 5 recent, at least 1.5x the previous 30 days)', () => {
  const kinds = (recent: number, previous: number) => findingsReport(input({ requests: spread(recent, previous) })).findings.map((f) => `${f.kind}:${(f.evidence as { recent?: { count: number } }).recent?.count}`);
  assert.deepEqual(kinds(4, 0), [], '4 recent is below the minimum of 5');
  assert.deepEqual(kinds(5, 0), ['rising_trend:5']);
  assert.deepEqual(kinds(5, 4), [], '5 < 1.5 x 4');
  assert.deepEqual(kinds(6, 4), ['rising_trend:6'], '6 = 1.5 x 4 is rising');
  assert.deepEqual(kinds(0, 0), []);
});

test('findings: a dominating gate needs at least 3 bypasses even at 100%', () => {
  const two = [bypass('req_a', 'perf', DAY), bypass('req_b', 'perf', 2 * DAY)];
  assert.deepEqual(findingsReport(input({ requests: two })).findings, []);
  const three = [...two, bypass('req_c', 'perf', 3 * DAY)];
  assert.deepEqual(
    findingsReport(input({ requests: three })).findings.map((f) => f.id),
    ['gate_dominates:perf:2026-W48'],
  );
});
