import type { Digest } from '../../shared/domain/digest';
import type { Policy } from '../../shared/domain/policy';
import type { Finding, HealthReport, ReviewsReport, TeamBudgetRow, TeamsReport } from '../../shared/domain/reports';
import type { RouteResponse } from '../../shared/http/contract';
import { canSeeRequest, seesEverything, type Viewer } from '../../shared/policy/visibility';
import type { StoreReader } from '../storage/store';

/**
 * Reports and the digest as one reader may see them (shared/policy/visibility.ts). Their figures
 * are org-wide counts and rates, which every report reader gets; the requests they NAME (open
 * reviews, emergency uses, a finding's evidence ids) are only those the reader may see.
 */

/** Which of these request ids `viewer` may see (auditors and admins: all, without a read). */
export async function visibleRequestIds(store: Pick<StoreReader, 'getRequests'>, policy: Policy, viewer: Viewer, ids: Iterable<string>): Promise<(id: string) => boolean> {
  if (seesEverything(viewer)) return () => true;
  const wanted = [...new Set(ids)];
  const seen = new Set((wanted.length > 0 ? await store.getRequests(wanted) : []).filter((r) => canSeeRequest(policy, viewer, r)).map((r) => r.id));
  return (id) => seen.has(id);
}

type Report = RouteResponse<'report'>;

function findingSeenBy(finding: Finding, visible: (id: string) => boolean): Finding {
  const e = finding.evidence;
  const ids = e.requestIds.filter(visible);
  if (e.kind === 'gate_bypassed_every_week') return { ...finding, evidence: { ...e, requestIds: ids, weeks: e.weeks.map((w) => ({ ...w, requestIds: w.requestIds.filter(visible) })) } };
  return { ...finding, evidence: { ...e, requestIds: ids } };
}

function teamRowsSeenBy(rows: readonly TeamBudgetRow[], visible: (id: string) => boolean): TeamBudgetRow[] {
  return rows.map((row) => ({ ...row, requestIds: row.requestIds.filter(visible) }));
}

function reviewsSeenBy(report: ReviewsReport, visible: (id: string) => boolean): ReviewsReport {
  return { ...report, open: report.open.filter((r) => visible(r.requestId)) };
}

/** Every request id a report or digest names. */
export function requestIdsNamedIn(value: Report | Digest): string[] {
  const ids: string[] = [];
  const fromFindings = (findings: readonly Finding[]) => findings.forEach((f) => ids.push(...f.evidence.requestIds, ...(f.evidence.kind === 'gate_bypassed_every_week' ? f.evidence.weeks.flatMap((w) => w.requestIds) : [])));
  const fromTeams = (rows: readonly TeamBudgetRow[]) => rows.forEach((r) => ids.push(...r.requestIds));
  if ('emergency' in value) {
    ids.push(...value.reviews.overdue.map((r) => r.requestId), ...value.emergency.uses.map((u) => u.requestId));
    fromFindings(value.findings);
    fromTeams(value.budgets.teams);
  } else if ('decisionTimes' in value) {
    const health = value as HealthReport;
    ids.push(...health.reviews.open.map((r) => r.requestId));
    fromFindings(health.findings.findings);
    fromTeams(health.teams.teams);
  } else if ('open' in value) ids.push(...value.open.map((r) => r.requestId));
  else if ('findings' in value) fromFindings(value.findings);
  else if ('quarter' in value) fromTeams((value as TeamsReport).teams);
  return ids;
}

/** A report with the requests it names cut to the visible ones. */
export function reportSeenBy(report: Report, visible: (id: string) => boolean): Report {
  if ('decisionTimes' in report) {
    const health = report as HealthReport;
    return {
      ...health,
      reviews: reviewsSeenBy(health.reviews, visible),
      findings: { ...health.findings, findings: health.findings.findings.map((f) => findingSeenBy(f, visible)) },
      teams: { ...health.teams, teams: teamRowsSeenBy(health.teams.teams, visible) },
    };
  }
  if ('open' in report) return reviewsSeenBy(report, visible);
  if ('findings' in report) return { ...report, findings: report.findings.map((f) => findingSeenBy(f, visible)) };
  if ('quarter' in report) return { ...(report as TeamsReport), teams: teamRowsSeenBy((report as TeamsReport).teams, visible) };
  return report;
}

/** A digest with the requests it names cut to the visible ones (its counts stay the organisation's). */
export function digestSeenBy(digest: Digest, visible: (id: string) => boolean): Digest {
  return {
    ...digest,
    findings: digest.findings.map((f) => findingSeenBy(f, visible)),
    budgets: { ...digest.budgets, teams: teamRowsSeenBy(digest.budgets.teams, visible) },
    reviews: { ...digest.reviews, overdue: digest.reviews.overdue.filter((r) => visible(r.requestId)) },
    emergency: { ...digest.emergency, uses: digest.emergency.uses.filter((u) => visible(u.requestId)) },
  };
}
