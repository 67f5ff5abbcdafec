import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gatesReport } from '../../../../grant-store/reports/gates-report';
import { loadReportInput } from '../../../../grant-store/reports/report-source';
import { SqliteStore } from '../../../../grant-store/storage/sqlite/sqlite-store';
import type { NewLedgerEntry } from '../../../../grant-store/storage/store';
import { DAY, HOUR, NOW, ago, bypass, input, policy, request } from '../../../unit/grant-store/reports/fixtures';

const MS = 1;

function evaluation(requestId: string, gate: string, time: string): NewLedgerEntry {
  return { time, type: 'evaluation_under_bypass', actor: 'ci', actorRole: 'gate', target: requestId, gate, reason: null, incidentRef: null, approver: null, expiresAt: null, sourceAddress: null, data: {} };
}

test('the gates report from the store counters equals the report from every request and evaluation, at every window edge', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-report-source-'));
  const store = SqliteStore.open(join(dir, 'store.db'));
  try {
    // Activations and evaluations just inside, exactly on and just outside each window edge (7, 30, 90 days),
    // on days that also hold events far from the edge (so those days straddle), plus a future one.
    const offsets = [HOUR, 7 * DAY - MS, 7 * DAY, 7 * DAY + MS, 7 * DAY - 6 * HOUR, 30 * DAY - MS, 30 * DAY, 30 * DAY + 3 * HOUR, 90 * DAY - MS, 90 * DAY, 90 * DAY + MS, 120 * DAY, -HOUR];
    const gates = ['integration', 'perf', 'image-signing'];
    const requests = offsets.flatMap((offset, i) => gates.slice(0, 1 + (i % 3)).map((gate) => bypass(`req_${gate}_${i}`, gate, offset)));
    requests.push(request({ id: 'req_pending', gate: 'perf', createdAt: ago(2 * DAY) }), request({ id: 'req_future', gate: 'perf', createdAt: ago(-DAY) }));
    const evaluations = offsets.flatMap((offset, i) => gates.slice(i % 3).map((gate) => ({ target: requests.find((r) => r.gate === gate)!.id, gate, time: ago(offset) })));
    for (const r of requests) await store.transaction((tx) => tx.insertRequest(r));
    await store.transaction((tx) => tx.appendLedger(evaluations.map((e) => evaluation(e.target, e.gate, e.time))));
    await store.transaction(async (tx) => {
      await tx.incrementGateBlocks('integration', ago(DAY), 12);
      await tx.incrementGateBlocks('old-gate', ago(100 * DAY), 2);
    });

    for (const now of [NOW, new Date(NOW.getTime() - 3 * HOUR), new Date(NOW.getTime() - 7 * DAY)]) {
      const fromStore = gatesReport(await loadReportInput(store, policy, now, { requests: false }));
      const full = gatesReport(input({ now, requests, evaluations, blocksByGate: { integration: 12, 'old-gate': 2 } }));
      assert.deepEqual(fromStore, full, `report at ${now.toISOString()}`);
    }
    // The figures are not trivially zero.
    const report = gatesReport(await loadReportInput(store, policy, NOW, { requests: false }));
    assert.ok(report.totals.bypasses.d90 > 10 && report.totals.evaluationsUnderBypass.d7 > 3, JSON.stringify(report.totals));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
