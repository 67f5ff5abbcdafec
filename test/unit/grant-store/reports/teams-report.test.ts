import { test } from 'node:test';
import assert from 'node:assert/strict';
import { teamsReport } from '../../../../grant-store/reports/teams-report';
import { TeamsReportSchema } from '../../../../shared/domain/reports';
import { DAY, bypass, input } from './fixtures';

const at = (iso: string) => Date.parse('2026-11-26T12:00:00.000Z') - Date.parse(iso);

test('teams report: a team over its quarterly budget is flagged; the previous quarter does not count', () => {
  const requests = [
    bypass('req_q3', 'integration', at('2026-09-30T23:59:59.999Z')), // last millisecond of Q3
    bypass('req_p1', 'integration', at('2026-10-01T00:00:00.000Z')), // first millisecond of Q4
    bypass('req_p2', 'perf', 20 * DAY),
    bypass('req_p3', 'integration', 2 * DAY),
    bypass('req_p4', 'integration', DAY),
    bypass('req_s1', 'perf', 3 * DAY, { team: 'search', requester: 'sam' }),
    bypass('req_g1', 'perf', 3 * DAY, { team: 'ghost', requester: 'gus' }),
  ];
  const report = teamsReport(input({ requests }));
  TeamsReportSchema.parse(report);
  assert.deepEqual(report, {
    now: '2026-11-26T12:00:00.000Z',
    quarter: '2026-Q4',
    quarterStart: '2026-10-01T00:00:00.000Z',
    quarterEnd: '2027-01-01T00:00:00.000Z',
    teams: [
      { team: 'ghost', budget: null, used: 1, usage: null, overBudget: false, requestIds: ['req_g1'] },
      { team: 'payments', budget: 3, used: 4, usage: 1.3333, overBudget: true, requestIds: ['req_p1', 'req_p2', 'req_p3', 'req_p4'] },
      { team: 'search', budget: 10, used: 1, usage: 0.1, overBudget: false, requestIds: ['req_s1'] },
    ],
  });
  // exactly at budget is not over it
  const atBudget = teamsReport(input({ requests: requests.filter((r) => r.id !== 'req_p4') }));
  assert.deepEqual(
    atBudget.teams.find((t) => t.team === 'payments'),
    { team: 'payments', budget: 3, used: 3, usage: 1, overBudget: false, requestIds: ['req_p1', 'req_p2', 'req_p3'] },
  );
});
