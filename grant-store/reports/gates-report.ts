import type { GateReportRow, GatesReport } from '../../shared/domain/reports';
import { fraction, iso, ms } from './calendar';
import { bypassesUpTo, windowCounts } from './bypasses';
import type { ReportInput } from './report-input';

/**
 * Per gate: bypasses over 7/30/90 days, share of all bypasses over 30 days, bypass requests vs
 * blocks, evaluations under bypass. Gates the policy no longer lists still appear when they have
 * history. Rows: most bypassed over 30 days first, then 90 days, then by id.
 */
export function gatesReport(input: ReportInput): GatesReport {
  const nowMs = input.now.getTime();
  const bypasses = bypassesUpTo(input.requests, nowMs);
  const evaluations = input.evaluations.map((e) => ({ gate: e.gate, atMs: ms(e.time) })).filter((e) => e.atMs <= nowMs);
  const requests = input.requests.filter((r) => ms(r.createdAt) <= nowMs);

  const gateIds = new Set<string>(input.policy.gates.map((g) => g.id));
  for (const r of requests) gateIds.add(r.gate);
  for (const e of evaluations) gateIds.add(e.gate);
  for (const [gate, count] of Object.entries(input.blocksByGate)) if (count > 0) gateIds.add(gate);

  const allBypasses = windowCounts(
    bypasses.map((b) => b.atMs),
    nowMs,
  );
  const rows: GateReportRow[] = [...gateIds].map((gate) => {
    const def = input.policy.gates.find((g) => g.id === gate);
    const counts = windowCounts(
      bypasses.filter((b) => b.request.gate === gate).map((b) => b.atMs),
      nowMs,
    );
    const gateRequests = requests.filter((r) => r.gate === gate).length;
    const blocks = input.blocksByGate[gate] ?? 0;
    return {
      gate,
      kind: def?.kind ?? null,
      tier: def?.tier ?? null,
      bypasses: counts,
      shareOfBypasses30d: fraction(counts.d30, allBypasses.d30),
      requestsToBlocks: { requests: gateRequests, blocks, ratio: fraction(gateRequests, blocks) },
      evaluationsUnderBypass: windowCounts(
        evaluations.filter((e) => e.gate === gate).map((e) => e.atMs),
        nowMs,
      ),
    };
  });
  rows.sort((a, b) => b.bypasses.d30 - a.bypasses.d30 || b.bypasses.d90 - a.bypasses.d90 || a.gate.localeCompare(b.gate));

  return {
    now: iso(nowMs),
    totals: {
      bypasses: allBypasses,
      blocks: Object.values(input.blocksByGate).reduce((sum, n) => sum + n, 0),
      evaluationsUnderBypass: windowCounts(
        evaluations.map((e) => e.atMs),
        nowMs,
      ),
    },
    gates: rows,
  };
}
