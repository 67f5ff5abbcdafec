import { DIGEST_COMPARISON_WEEKS, type Digest, type DigestCountRow, type DigestEmergencyUse, type DigestLedger, type DigestWeek } from '../../shared/domain/digest';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../shared/domain/request';
import { iso } from '../reports/calendar';
import { decisionTimesReport } from '../reports/decision-times-report';
import { findingsReport } from '../reports/findings-report';
import { type ReportState, reportInputOf } from '../reports/report-input';
import { openReview, reviewsReport } from '../reports/reviews-report';
import { teamsReport } from '../reports/teams-report';
import { formatIsoWeek, isoWeekBounds, shiftIsoWeek, type IsoWeek } from './iso-week';

/** What a digest is computed from: the reports' input plus the week, the emergency entries and the ledger's state. */
export interface DigestInput {
  /** Every request and review, evaluations, block counts and policy (the reports are computed as of the week's end). */
  report: ReportState;
  week: IsoWeek;
  timeZone: string;
  generatedAt: Date;
  /** emergency_used and emergency_refused ledger entries (any time; the week's are picked). */
  emergencyEntries: readonly LedgerEntry[];
  ledger: DigestLedger;
}

/**
 * The reports are computed as of the week's last millisecond, so `breakglass report <kind> --now
 * <digest.to - 1 ms>` shows the same figures (and a finding carries the digest week's label).
 */
export function digestAsOf(toMs: number): number {
  return toMs - 1;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** A bypass: a request that became active (standing scopes included), dated by its activation. */
interface Bypass {
  request: BypassRequest;
  atMs: number;
}

/** Bypasses activated at or before `nowMs`, oldest first (ties by request id). */
function bypassesUpTo(requests: readonly BypassRequest[], nowMs: number): Bypass[] {
  const out: Bypass[] = [];
  for (const request of requests) {
    if (request.activatedAt === null) continue;
    const atMs = Date.parse(request.activatedAt);
    if (atMs <= nowMs) out.push({ request, atMs });
  }
  return out.sort((a, b) => a.atMs - b.atMs || a.request.id.localeCompare(b.request.id));
}

function countIn(bypasses: readonly Bypass[], week: { from: number; to: number }, keyOf: (r: BypassRequest) => string, key: string): number {
  return bypasses.filter((b) => b.atMs >= week.from && b.atMs < week.to && keyOf(b.request) === key).length;
}

function rows(keys: Iterable<string>, kindOf: (key: string) => DigestCountRow['kind'], bypasses: readonly Bypass[], current: { from: number; to: number }, previous: readonly { from: number; to: number }[], keyOf: (r: BypassRequest) => string): DigestCountRow[] {
  return [...new Set(keys)]
    .map((key) => {
      const prev = previous.map((w) => countIn(bypasses, w, keyOf, key));
      return { key, kind: kindOf(key), thisWeek: countIn(bypasses, current, keyOf, key), previous: prev, previousAverage: round2(prev.reduce((a, b) => a + b, 0) / prev.length) };
    })
    .sort((a, b) => b.thisWeek - a.thisWeek || b.previousAverage - a.previousAverage || a.key.localeCompare(b.key));
}

/** The reviews open at `asOf` and past their deadline, oldest first. */
function openOverdue(reviews: ReportState['reviews'], asOf: number) {
  return reviews
    .filter((r) => Date.parse(r.openedAt) <= asOf && (r.completedAt === null || Date.parse(r.completedAt) > asOf))
    .map((r) => openReview(r, asOf))
    .filter((o) => o.overdue)
    .sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt) || a.reviewId.localeCompare(b.reviewId));
}

/** The digest's figures for one ISO week: pure, from the same functions as the reports. */
export function computeDigest(input: DigestInput): Digest {
  const { policy } = input.report;
  const current = isoWeekBounds(input.week, input.timeZone);
  const asOf = digestAsOf(current.to);
  const previousWeeks = Array.from({ length: DIGEST_COMPARISON_WEEKS }, (_, i) => shiftIsoWeek(input.week, i - DIGEST_COMPARISON_WEEKS));
  const previousBounds = previousWeeks.map((w) => isoWeekBounds(w, input.timeZone));
  const at = reportInputOf({ ...input.report, now: new Date(asOf) });

  const bypasses = bypassesUpTo(input.report.requests, asOf);
  const inWeek = (b: Bypass, w: { from: number; to: number }) => b.atMs >= w.from && b.atMs < w.to;
  const thisWeek = bypasses.filter((b) => inWeek(b, current));
  const previous = previousBounds.map((w) => bypasses.filter((b) => inWeek(b, w)).length);
  const recent = bypasses.filter((b) => b.atMs >= (previousBounds[0]?.from ?? current.from));

  const gateKind = (gate: string) => policy.gates.find((g) => g.id === gate)?.kind ?? null;
  const byGate = rows([...policy.gates.map((g) => g.id), ...recent.map((b) => b.request.gate)], gateKind, bypasses, current, previousBounds, (r) => r.gate);
  const byTeam = rows([...Object.keys(policy.teams), ...recent.map((b) => b.request.team)], () => null, bypasses, current, previousBounds, (r) => r.team);

  const reviews = reviewsReport(at);
  const teams = teamsReport(at);
  const weekRequests = input.report.requests.filter((r) => {
    const created = Date.parse(r.createdAt);
    return created >= current.from && created < current.to;
  });

  const inDigestWeek = (e: LedgerEntry) => {
    const t = Date.parse(e.time);
    return t >= current.from && t < current.to;
  };
  const uses: DigestEmergencyUse[] = input.emergencyEntries
    .filter((e) => e.type === 'emergency_used' && inDigestWeek(e))
    .map((e) => {
      const review = input.report.reviews.find((r) => r.requestId === e.target && Date.parse(r.openedAt) <= asOf);
      const signoffs = (review?.signoffs ?? []).filter((s) => Date.parse(s.at) <= asOf);
      const complete = review?.completedAt != null && Date.parse(review.completedAt) <= asOf;
      return {
        seq: e.seq,
        at: e.time,
        credentialId: String(e.data['credentialId'] ?? ''),
        requestId: e.target,
        gate: e.gate ?? '',
        usedBy: e.actor,
        team: typeof e.data['team'] === 'string' ? e.data['team'] : null,
        incidentRef: e.incidentRef,
        reason: e.reason,
        reviewState: review ? (complete ? 'reviewed' : 'review_open') : null,
        signoffs: complete && signoffs.length === 0 ? 1 : signoffs.length,
        signoffsRequired: review?.signoffsRequired ?? 1,
      };
    });

  const week = (w: IsoWeek, b: { from: number; to: number }): DigestWeek => ({ week: formatIsoWeek(w), from: iso(b.from), to: iso(b.to) });
  return {
    week: formatIsoWeek(input.week),
    timeZone: input.timeZone,
    from: iso(current.from),
    to: iso(current.to),
    generatedAt: input.generatedAt.toISOString(),
    previousWeeks: previousWeeks.map((w, i) => week(w, previousBounds[i]!)),
    bypasses: {
      thisWeek: thisWeek.length,
      previous,
      previousAverage: round2(previous.reduce((a, b) => a + b, 0) / previous.length),
      standing: thisWeek.filter((b) => b.request.standingScope !== null).length,
      preApproved: thisWeek.filter((b) => b.request.preApproval != null).length,
      emergency: thisWeek.filter((b) => b.request.emergencyCredential != null).length,
      byGate,
      byTeam,
    },
    findings: findingsReport(at).findings,
    budgets: { quarter: teams.quarter, teams: teams.teams },
    // Every overdue review (the report's list holds only the oldest REPORT_IDS_LIMIT open ones).
    reviews: { overdue: openOverdue(input.report.reviews, asOf), openWithinDeadline: reviews.openWithinDeadline, onTimeRate: reviews.onTimeRate, due: reviews.due },
    decisionTimes: {
      week: decisionTimesReport({ ...at, requests: weekRequests }),
      trailing: decisionTimesReport(at),
    },
    emergency: { uses, refused: input.emergencyEntries.filter((e) => e.type === 'emergency_refused' && inDigestWeek(e)).length },
    ledger: input.ledger,
  };
}
