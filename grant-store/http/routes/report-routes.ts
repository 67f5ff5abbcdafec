import { toCsv } from '../../../shared/csv';
import { AUDIT_CSV_COLUMNS, type AuditRecord } from '../../../shared/domain/audit';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { RouteResponse } from '../../../shared/http/contract';
import type { REPORT_ROUTE_KINDS } from '../../../shared/http/params';
import type { Review } from '../../../shared/domain/review';
import { notificationsFor } from '../../alerts/notifications';
import { readOutbox } from '../../alerts/outbox';
import { approversReport } from '../../reports/approvers-report';
import { auditRecord, auditRecordMatches } from '../../reports/audit-records';
import { decisionTimesReport } from '../../reports/decision-times-report';
import { findingsReport } from '../../reports/findings-report';
import { gatesReport } from '../../reports/gates-report';
import { healthReport } from '../../reports/health-report';
import { GateHealthMetrics } from '../../reports/prometheus-metrics';
import type { ReportInput } from '../../reports/report-input';
import { loadReportInput } from '../../reports/report-source';
import { reviewsReport } from '../../reports/reviews-report';
import { teamsReport } from '../../reports/teams-report';
import type { StoreReader } from '../../storage/store';
import type { RoutePlugin } from '../route-context';

/** Ledger entries read per page for the audit export and notifications. */
const LEDGER_PAGE = 2000;

const REPORTS: Record<(typeof REPORT_ROUTE_KINDS)[number], (input: ReportInput) => RouteResponse<'report'>> = {
  gates: gatesReport,
  approvers: approversReport,
  'decision-times': decisionTimesReport,
  reviews: reviewsReport,
  teams: teamsReport,
  findings: findingsReport,
  health: healthReport,
};

async function allEntries(store: StoreReader): Promise<LedgerEntry[]> {
  const size = await store.ledgerSize();
  const out: LedgerEntry[] = [];
  for (let from = 0; from < size; from += LEDGER_PAGE) out.push(...(await store.getLedgerEntries(from, Math.min(LEDGER_PAGE, size - from))));
  return out;
}

/**
 * Gate health: reports, the audit export, each principal's notification feed and Prometheus
 * metrics (roles and query strings in shared/http/contract.ts). /metrics is scraped with
 * `authorization: { credentials_file: ... }`: gate names and team usage are not public.
 */
export const registerReportRoutes: RoutePlugin = (_app, { route, deps }) => {
  const { store, policies, clock } = deps;
  const metrics = new GateHealthMetrics();
  let scraping: Promise<unknown> = Promise.resolve();

  route('report', async ({ params, query }) => {
    const { kind } = params;
    const now = query.now ? new Date(query.now) : clock();
    const input = await loadReportInput(store, policies.policy, now, { withEvaluations: kind === 'gates' || kind === 'health' });
    return REPORTS[kind](input);
  });

  route('audit', async ({ query: q, reply }) => {
    const [entries, requests, reviews] = await Promise.all([allEntries(store), store.listRequests({}), store.listReviews()]);
    const join = { requests: new Map(requests.map((r) => [r.id, r])), reviews: new Map<string, Review>(reviews.map((r) => [r.requestId, r])) };
    const records: AuditRecord[] = entries.map((e) => auditRecord(e, join)).filter((r) => auditRecordMatches(r, q));
    if (q.format === 'json') return { records };
    if (q.format === 'csv') {
      reply.header('content-disposition', 'attachment; filename="breakglass-audit.csv"');
      return reply.type('text/csv; charset=utf-8').send(toCsv(AUDIT_CSV_COLUMNS, records));
    }
    return reply.type('application/x-ndjson; charset=utf-8').send(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  });

  route('notifications', async ({ caller, query: q }) => {
    const all = notificationsFor(caller.principal, await allEntries(store), policies.policy, q.since);
    return { principal: caller.principal, notifications: all.slice(0, q.limit) };
  });

  route('metrics', async ({ reply }) => {
    const run = scraping.then(async () => {
      const input = await loadReportInput(store, policies.policy, clock());
      metrics.update(healthReport(input), input, (await readOutbox(store)).length);
      return metrics.registry.metrics();
    });
    // Scrapes run one after another; a failed one is answered (and logged) by its own request.
    scraping = run.catch(() => undefined);
    const text = await run;
    return reply.type(metrics.registry.contentType).send(text);
  });
};
