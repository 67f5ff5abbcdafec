import { z } from 'zod';
import { toCsv } from '../../../shared/csv';
import { AUDIT_CSV_COLUMNS, AuditQuerySchema, type AuditRecord } from '../../../shared/domain/audit';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import { NotificationsQuerySchema, type NotificationsResponse } from '../../../shared/domain/notification';
import { ReportQuerySchema } from '../../../shared/domain/reports';
import type { Review } from '../../../shared/domain/review';
import { AppError } from '../../../shared/errors';
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
import { requireRole } from '../../service/access';
import { query } from '../parse';
import type { RoutePlugin } from '../route-context';

/** Ledger entries read per page for the audit export and notifications. */
const LEDGER_PAGE = 2000;

const REPORTS: Record<string, (input: ReportInput) => unknown> = {
  gates: gatesReport,
  approvers: approversReport,
  'decision-times': decisionTimesReport,
  reviews: reviewsReport,
  teams: teamsReport,
  findings: findingsReport,
  health: healthReport,
};
const ReportParamsSchema = z.strictObject({ kind: z.enum(Object.keys(REPORTS) as [string, ...string[]]) });

async function allEntries(store: StoreReader): Promise<LedgerEntry[]> {
  const size = await store.ledgerSize();
  const out: LedgerEntry[] = [];
  for (let from = 0; from < size; from += LEDGER_PAGE) out.push(...(await store.getLedgerEntries(from, Math.min(LEDGER_PAGE, size - from))));
  return out;
}

/**
 * Gate health (issue 7):
 *   GET /v1/reports/{gates|approvers|decision-times|reviews|teams|findings|health}?now=  (approver, auditor, admin)
 *   GET /v1/audit?from=&to=&gate=&team=&actor=&format=jsonl|csv|json                     (auditor, admin)
 *   GET /v1/notifications?since=&limit=                                                  (any principal: their own feed)
 *   GET /metrics   Prometheus text (auditor, admin or gate token: scrape with
 *                  `authorization: { credentials_file: ... }`; gate names and team usage are not public)
 */
export const registerReportRoutes: RoutePlugin = (app, ctx) => {
  const { store, policies, clock } = ctx.deps;
  const metrics = new GateHealthMetrics();
  let scraping: Promise<unknown> = Promise.resolve();

  app.get('/v1/reports/:kind', async (request) => {
    requireRole(ctx.caller(request), 'approver', 'auditor', 'admin');
    const { kind } = parseParams(request.params);
    const q = query(ReportQuerySchema, request.query);
    const now = q.now ? new Date(q.now) : clock();
    const input = await loadReportInput(store, policies.policy, now, { withEvaluations: kind === 'gates' || kind === 'health' });
    return (REPORTS[kind] as (input: ReportInput) => unknown)(input);
  });

  app.get('/v1/audit', async (request, reply) => {
    requireRole(ctx.caller(request), 'auditor', 'admin');
    const q = query(AuditQuerySchema, request.query);
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

  app.get('/v1/notifications', async (request): Promise<NotificationsResponse> => {
    const caller = ctx.caller(request);
    const q = query(NotificationsQuerySchema, request.query);
    const all = notificationsFor(caller.principal, await allEntries(store), policies.policy, q.since);
    return { principal: caller.principal, notifications: all.slice(0, q.limit) };
  });

  app.get('/metrics', async (request, reply) => {
    requireRole(ctx.caller(request), 'auditor', 'admin', 'gate');
    const run = scraping.then(async () => {
      const input = await loadReportInput(store, policies.policy, clock());
      metrics.update(healthReport(input), input, (await readOutbox(store)).length);
      return metrics.registry.metrics();
    });
    scraping = run.catch(() => undefined);
    const text = await run;
    return reply.type(metrics.registry.contentType).send(text);
  });
};

function parseParams(params: unknown): { kind: string } {
  const parsed = ReportParamsSchema.safeParse(params);
  if (!parsed.success) throw new AppError('not_found', `unknown report; one of: ${Object.keys(REPORTS).join(', ')}`);
  return parsed.data;
}
