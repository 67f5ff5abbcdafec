import type { GateReportRow, GatesReport, WindowCounts } from '../../shared/domain/reports';
import { fraction, inTrailingWindow, iso, ms } from './calendar';
import type { ReportInput, TimedCount } from './report-input';
import { BYPASS_WINDOWS_DAYS } from './thresholds';

interface Counted {
  gate: string;
  atMs: number;
  count: number;
}

/** Counted events at or before `nowMs`. */
function upTo(items: readonly TimedCount[], nowMs: number): Counted[] {
  const out: Counted[] = [];
  for (const i of items) {
    const atMs = ms(i.time);
    if (atMs <= nowMs) out.push({ gate: i.gate, atMs, count: i.count });
  }
  return out;
}

/** Sums over the 7/30/90-day trailing windows. */
function windowSums(items: readonly Counted[], nowMs: number): WindowCounts {
  const sum = (days: number) => items.reduce((n, i) => n + (inTrailingWindow(i.atMs, nowMs, days) ? i.count : 0), 0);
  return { d7: sum(BYPASS_WINDOWS_DAYS.d7), d30: sum(BYPASS_WINDOWS_DAYS.d30), d90: sum(BYPASS_WINDOWS_DAYS.d90) };
}

/**
 * Per gate: bypasses over 7/30/90 days, share of all bypasses over 30 days, bypass requests vs
 * blocks, evaluations under bypass. Gates the policy no longer lists still appear when they have
 * history. Rows: most bypassed over 30 days first, then 90 days, then by id. Reads only counts
 * (input.gateCounts, input.evaluations, input.blocksByGate), never the request list.
 */
export function gatesReport(input: ReportInput): GatesReport {
  const nowMs = input.now.getTime();
  const bypasses = upTo(input.gateCounts.bypasses, nowMs);
  const evaluations = upTo(input.evaluations, nowMs);
  const requests = upTo(input.gateCounts.requests, nowMs);

  const gateIds = new Set<string>(input.policy.gates.map((g) => g.id));
  for (const r of requests) if (r.count > 0) gateIds.add(r.gate);
  for (const e of evaluations) if (e.count > 0) gateIds.add(e.gate);
  for (const [gate, count] of Object.entries(input.blocksByGate)) if (count > 0) gateIds.add(gate);

  const allBypasses = windowSums(bypasses, nowMs);
  const rows: GateReportRow[] = [...gateIds].map((gate) => {
    const def = input.policy.gates.find((g) => g.id === gate);
    const counts = windowSums(
      bypasses.filter((b) => b.gate === gate),
      nowMs,
    );
    const gateRequests = requests.filter((r) => r.gate === gate).reduce((n, r) => n + r.count, 0);
    const blocks = input.blocksByGate[gate] ?? 0;
    return {
      gate,
      kind: def?.kind ?? null,
      tier: def?.tier ?? null,
      bypasses: counts,
      shareOfBypasses30d: fraction(counts.d30, allBypasses.d30),
      requestsToBlocks: { requests: gateRequests, blocks, ratio: fraction(gateRequests, blocks) },
      evaluationsUnderBypass: windowSums(
        evaluations.filter((e) => e.gate === gate),
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
      evaluationsUnderBypass: windowSums(evaluations, nowMs),
    },
    gates: rows,
  };
}
