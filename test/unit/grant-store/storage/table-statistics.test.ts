import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PLANNED_TABLES, statisticsPlan } from '../../../../grant-store/storage/postgres/table-statistics';

test('autovacuum on: only tables with rows and no statistics are analyzed at open, nothing after, no warning', () => {
  assert.deepEqual(statisticsPlan({ autovacuum: true, present: [...PLANNED_TABLES], missing: ['ledger_entries'] }), { analyzeNow: ['ledger_entries'], keepAnalyzing: false, warning: null });
  assert.deepEqual(statisticsPlan({ autovacuum: true, present: [...PLANNED_TABLES], missing: [] }), { analyzeNow: [], keepAnalyzing: false, warning: null });
});

test('autovacuum off: every table the store has is analyzed now and periodically, and the operator is told why and what to do', () => {
  const plan = statisticsPlan({ autovacuum: false, present: ['ledger_entries', 'requests'], missing: [] });
  assert.deepEqual(plan.analyzeNow, ['ledger_entries', 'requests']);
  assert.equal(plan.keepAnalyzing, true);
  assert.match(plan.warning ?? '', /autovacuum is off/);
  assert.match(plan.warning ?? '', /every 10 minutes/);
  assert.match(plan.warning ?? '', /turn autovacuum on/);
});
