import type { Command } from 'commander';
import { z } from 'zod';
import { TimestampSchema } from '../../../shared/domain/common';
import {
  type ApproversReport,
  type DecisionTimeClass,
  type DecisionTimesReport,
  type FindingsReport,
  type GatesReport,
  REPORT_KINDS,
  type ReportKind,
  type ReviewsReport,
  type TeamsReport,
} from '../../../shared/domain/reports';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { formatTable } from '../output';
import { validateFlags } from '../validate';

const ReportFlagsSchema = z.strictObject({ kind: z.enum(REPORT_KINDS), now: TimestampSchema.optional() });

const pct = (f: number | null) => (f === null ? '-' : `${Math.round(f * 1000) / 10}%`);
const num = (n: number | null) => (n === null ? '-' : String(n));

/** 14m, 3h 05m, 2d 04h: durations as an on-call engineer reads them. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${String(hours % 24).padStart(2, '0')}h`;
}

function gates(r: GatesReport): string {
  const rows = r.gates.map((g) => [
    g.gate,
    g.kind ?? '-',
    String(g.bypasses.d7),
    String(g.bypasses.d30),
    String(g.bypasses.d90),
    pct(g.shareOfBypasses30d),
    `${g.requestsToBlocks.requests}/${g.requestsToBlocks.blocks}`,
    num(g.requestsToBlocks.ratio),
    String(g.evaluationsUnderBypass.d30),
  ]);
  return formatTable(['GATE', 'KIND', '7D', '30D', '90D', 'SHARE30D', 'REQ/BLOCKS', 'RATIO', 'EVALS30D'], rows, 'no gates');
}

function approvers(r: ApproversReport): string {
  const rows = r.groups.map((g) => [g.group, String(g.approvals), String(g.denials), pct(g.approvalRate), g.flag ?? (g.sampleSufficient ? 'ok' : `n<${r.minSample}`)]);
  return `Decisions per approver group, last ${r.windowDays} days (flags need ${r.minSample} decisions):\n${formatTable(['GROUP', 'APPROVALS', 'DENIALS', 'APPROVAL RATE', 'FLAG'], rows, 'no approver groups')}`;
}

function decisionRow(c: DecisionTimeClass): string[] {
  return [c.class, c.clock, formatDuration(c.targetMs), String(c.decided), formatDuration(c.p50Ms), formatDuration(c.p90Ms), pct(c.withinTargetRate), c.p90MeetsTarget === null ? '-' : c.p90MeetsTarget ? 'yes' : 'NO', String(c.lapsed), `${c.waiting} (${c.waitingPastTarget} late)`];
}

function decisionTimes(r: DecisionTimesReport): string {
  return `Time from request to decision, last ${r.windowDays} days:\n${formatTable(['CLASS', 'CLOCK', 'TARGET', 'DECIDED', 'P50', 'P90', 'IN TARGET', 'P90 OK', 'LAPSED', 'WAITING'], [decisionRow(r.incident), decisionRow(r.other)])}`;
}

function reviews(r: ReviewsReport): string {
  const head = `Post-bypass reviews: ${r.completedOnTime} of ${r.due} due completed within ${formatDuration(r.deadlineMs)} (${pct(r.onTimeRate)}); ${r.completedLate} late; open: ${r.openOverdue} overdue, ${r.openWithinDeadline} within the deadline.\n`;
  const rows = r.open.map((o) => [o.reviewId, o.requestId, o.gate, o.team, o.requester, formatDuration(o.ageMs), o.overdue ? 'OVERDUE' : '']);
  return head + formatTable(['REVIEW', 'REQUEST', 'GATE', 'TEAM', 'REQUESTER', 'AGE', ''], rows, 'no open reviews');
}

function teams(r: TeamsReport): string {
  const rows = r.teams.map((t) => [t.team, String(t.used), num(t.budget), pct(t.usage), t.overBudget ? 'OVER BUDGET: review' : '']);
  return `Bypasses per team in ${r.quarter}:\n${formatTable(['TEAM', 'USED', 'BUDGET', 'USAGE', ''], rows, 'no teams')}`;
}

function findings(r: FindingsReport): string {
  if (r.findings.length === 0) return 'No deviance findings: bypasses are rare and spread out.\n';
  return r.findings.map((f) => `FIX THE GATE${f.gate ? ` ${f.gate}` : 'S'}: ${f.title}\n  ${f.message}\n  evidence: ${f.evidence.requestIds.join(', ')}\n`).join('\n');
}

const RENDER: Record<ReportKind, (report: never) => string> = {
  gates,
  approvers,
  'decision-times': decisionTimes,
  reviews,
  teams,
  findings,
};

/** `report`: the gate-health figures (issue 7) from GET /v1/reports/<kind>. */
export function registerReport(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('report')
      .description('gate health: bypasses per gate, approver groups, decision times, reviews, team budgets, deviance findings ("fix the gate")')
      .argument('[kind]', REPORT_KINDS.join(' | '), 'gates')
      .option('--now <time>', 'compute the report as of this UTC time, e.g. 2026-06-30T00:00:00.000Z'),
    'breakglass report',
    'breakglass report findings',
    'breakglass report teams --json',
  ).action(async (kind: string, flags: { now?: string }, cmd: Command) => {
    const opts = validateFlags(ReportFlagsSchema, { kind, now: flags.now }, 'report', { kind: 'KIND', now: '--now' });
    const report = await ctx.client(cmd).get<unknown>(`/v1/reports/${opts.kind}`, opts.now ? { now: opts.now } : {});
    ctx.emit(cmd, report, () => RENDER[opts.kind](report as never));
  });
}
