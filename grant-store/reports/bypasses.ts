import { ms } from './calendar';
import type { BypassSample, ReportInput } from './report-input';
import { REPORT_IDS_LIMIT } from './thresholds';

/** Bypasses (requests that became active, standing scopes included) counted per gate and team, dated by activation. */
export interface CountedBypass {
  gate: string;
  team: string;
  atMs: number;
  count: number;
}

/** The counted bypasses at or before `nowMs`. */
export function bypassesUpTo(input: Pick<ReportInput, 'gateCounts'>, nowMs: number): CountedBypass[] {
  const out: CountedBypass[] = [];
  for (const b of input.gateCounts.bypasses) {
    const atMs = ms(b.time);
    if (atMs <= nowMs && b.count > 0) out.push({ gate: b.gate, team: b.team, atMs, count: b.count });
  }
  return out;
}

/** How many bypasses a list counts. */
export function total(bypasses: readonly CountedBypass[]): number {
  return bypasses.reduce((n, b) => n + b.count, 0);
}

/**
 * The ids of the most recent REPORT_IDS_LIMIT sampled bypasses activated in [fromMs, toMs) and at
 * or before `nowMs` that `keep` accepts, oldest first (ties by id): a report's evidence.
 */
export function bypassIds(samples: readonly BypassSample[], fromMs: number, toMs: number, nowMs: number, keep: (s: BypassSample) => boolean = () => true): string[] {
  const picked: { id: string; atMs: number }[] = [];
  for (const s of samples) {
    const atMs = ms(s.activatedAt);
    if (atMs >= fromMs && atMs < toMs && atMs <= nowMs && keep(s)) picked.push({ id: s.id, atMs });
  }
  picked.sort((a, b) => a.atMs - b.atMs || a.id.localeCompare(b.id));
  return picked.slice(-REPORT_IDS_LIMIT).map((p) => p.id);
}
