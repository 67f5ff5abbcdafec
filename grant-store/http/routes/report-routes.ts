import { Readable } from 'node:stream';
import { toCsv } from '../../../shared/csv';
import { AUDIT_CSV_COLUMNS } from '../../../shared/domain/audit';
import type { RouteResponse } from '../../../shared/http/contract';
import type { REPORT_ROUTE_KINDS } from '../../../shared/http/params';
import { notificationsFromStore } from '../../alerts/notifications';
import { readOutbox } from '../../alerts/outbox';
import { approversReport } from '../../reports/approvers-report';
import { auditExportChunks, auditPage } from '../../reports/audit-export';
import { decisionTimesReport } from '../../reports/decision-times-report';
import { findingsReport } from '../../reports/findings-report';
import { gatesReport } from '../../reports/gates-report';
import { healthReport } from '../../reports/health-report';
import type { ReportInput } from '../../reports/report-input';
import { loadMetricsExtras, loadReportInput } from '../../reports/report-source';
import { reportSeenBy, requestIdsNamedIn, visibleRequestIds } from '../../reports/report-visibility';
import { reviewsReport } from '../../reports/reviews-report';
import { teamsReport } from '../../reports/teams-report';
import type { RoutePlugin } from '../route-context';

/** /metrics answers from a computation at most this old (Prometheus scrapes every 15 s or so). */
export const METRICS_CACHE_MS = 5_000;
/** Audit records per page when `cursor` is given without `limit`. */
const AUDIT_PAGE_DEFAULT = 1000;

const REPORTS: Record<(typeof REPORT_ROUTE_KINDS)[number], (input: ReportInput) => RouteResponse<'report'>> = {
  gates: gatesReport,
  approvers: approversReport,
  'decision-times': decisionTimesReport,
  reviews: reviewsReport,
  teams: teamsReport,
  findings: findingsReport,
  health: healthReport,
};

/**
 * Gate health: reports, the audit export, each principal's notification feed and Prometheus
 * metrics (roles and query strings in shared/http/contract.ts). /metrics is scraped with
 * `authorization: { credentials_file: ... }`: gate names and team usage are not public.
 */
export const registerReportRoutes: RoutePlugin = (_app, { route, deps, logger, metrics, witnesses }) => {
  const { store, policies, clock } = deps;
  let scraping: Promise<unknown> = Promise.resolve();
  let cached: { text: string; at: number } | undefined;

  route('report', async ({ caller, params, query }) => {
    const { kind } = params;
    const now = query.now ? new Date(query.now) : clock();
    // Counters and bounded reads (report-source.ts); a past `now` replays from every request.
    const input = await loadReportInput(store, policies.policy, now, { requests: kind !== 'gates', withEvaluations: kind === 'gates' || kind === 'health', replay: query.now !== undefined });
    const report = REPORTS[kind](input);
    // Figures are org-wide; the requests a report names are only those the caller may see.
    return reportSeenBy(report, await visibleRequestIds(store, policies.policy, caller, requestIdsNamedIn(report)));
  });

  // Every filter in SQL (StoreReader.auditEntries). With `cursor` or `limit`: one page and
  // nextCursor (JSON body; header Breakglass-Next-Cursor for jsonl/csv). Without: the whole
  // audit, streamed page by page in constant memory.
  route('audit', async ({ query: q, reply }) => {
    if (q.format === 'csv') reply.header('content-disposition', 'attachment; filename="breakglass-audit.csv"');
    const type = q.format === 'csv' ? 'text/csv; charset=utf-8' : q.format === 'json' ? 'application/json; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
    if (q.cursor !== undefined || q.limit !== undefined) {
      const page = await auditPage(store, q, q.cursor ?? -1, q.limit ?? AUDIT_PAGE_DEFAULT);
      if (q.format === 'json') return page;
      if (page.nextCursor !== null) reply.header('breakglass-next-cursor', String(page.nextCursor));
      const text = q.format === 'csv' ? toCsv(AUDIT_CSV_COLUMNS, page.records) : page.records.map((r) => `${JSON.stringify(r)}\n`).join('');
      return reply.type(type).send(text);
    }
    return reply.type(type).send(Readable.from(auditExportChunks(store, q, q.format)));
  });

  route('notifications', async ({ caller, query: q }) => ({
    principal: caller.principal,
    notifications: await notificationsFromStore(store, caller.principal, policies.policy, q.since, q.limit),
  }));

  route('metrics', async ({ reply }) => {
    const run = scraping.then(async () => {
      if (cached && clock().getTime() - cached.at < METRICS_CACHE_MS && clock().getTime() >= cached.at) return cached.text;
      const at = clock().getTime();
      const [input, extras] = await Promise.all([loadReportInput(store, policies.policy, clock()), loadMetricsExtras(store)]);
      metrics.update(healthReport(input), extras, (await readOutbox(store)).length);
      const text = (await metrics.registry.metrics()) + (await witnesses.metricsText());
      cached = { text, at };
      return text;
    });
    // Scrapes run one after another; a failed one is answered (as a 500, logged) to its own request.
    scraping = run.catch((error: unknown) => logger.debug({ err: error }, 'metrics scrape failed (answered to its request)'));
    const text = await run;
    return reply.type(metrics.registry.contentType).send(text);
  });
};
