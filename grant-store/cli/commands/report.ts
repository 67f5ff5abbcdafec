import { writeFile } from 'node:fs/promises';
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
import { usageError, validateFlags } from '../validate';

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

const DigestFlagsSchema = z.strictObject({ week: z.string().regex(/^\d{4}-W\d{2}$/, 'must be an ISO week like 2026-W48').optional(), out: z.string().min(1).optional(), send: z.boolean() });

/** `report digest`: the weekly digest on demand: shown (text), written as HTML, or sent now. */
async function reportDigest(ctx: CliContext, cmd: Command, flags: { week?: string; out?: string; send?: boolean }): Promise<void> {
  const opts = validateFlags(DigestFlagsSchema, { week: flags.week, out: flags.out, send: flags.send === true }, 'digest', { week: '--week', out: '--out', send: '--send' });
  if (opts.send && opts.out) throw usageError('digest', [{ path: '--send', message: 'either --send (email + webhooks now) or --out FILE.html, not both' }]);
  const client = ctx.client(cmd);
  if (opts.send) {
    const sent = await client.call('sendDigest', { body: opts.week ? { week: opts.week } : {} });
    ctx.emit(cmd, sent, () => `Sent the digest of ${sent.digest.week}${sent.email ? ` to ${sent.email.accepted.join(', ')}${sent.email.rejected.length ? ` (rejected: ${sent.email.rejected.join(', ')})` : ''}` : ' (no email configured: webhooks only)'}; ledger seq ${sent.seq}.\n`);
    return;
  }
  const answer = await client.call('digest', { query: opts.week ? { week: opts.week } : {} });
  if (opts.out) {
    try {
      await writeFile(opts.out, answer.html);
    } catch (error) {
      throw usageError('digest', [{ path: '--out', message: `cannot write ${opts.out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
    }
    ctx.emit(cmd, { week: answer.digest.week, subject: answer.subject, out: opts.out }, () => `Wrote the digest of ${answer.digest.week} to ${opts.out} (${answer.subject}).\n`);
    return;
  }
  ctx.emit(cmd, answer.digest, () => answer.text);
}

/** `report`: the gate-health figures from GET /v1/reports/<kind>, and the weekly digest. */
export function registerReport(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('report')
      .description('gate health: bypasses per gate, approver groups, decision times, reviews, team budgets, deviance findings ("fix the gate"); `digest`: the weekly digest for leadership')
      .argument('[kind]', `${REPORT_KINDS.join(' | ')} | digest`, 'gates')
      .option('--now <time>', 'compute the report as of this UTC time, e.g. 2026-06-30T00:00:00.000Z')
      .option('--week <week>', 'digest: the ISO week, e.g. 2026-W48 (default: the last complete week)')
      .option('--out <file.html>', 'digest: write the HTML (charts inline as SVG) to this file')
      .option('--send', 'digest: send it now by email and to webhooks (admin)'),
    'breakglass report',
    'breakglass report findings',
    'breakglass report teams --json',
    'breakglass report digest --week 2026-W48 --out digest.html',
    'breakglass report digest --send',
  ).action(async (kind: string, flags: { now?: string; week?: string; out?: string; send?: boolean }, cmd: Command) => {
    if (kind === 'digest') {
      if (flags.now) throw usageError('digest', [{ path: '--now', message: 'the digest is computed for --week, not --now' }]);
      return reportDigest(ctx, cmd, flags);
    }
    const misplaced = (['week', 'out', 'send'] as const).find((f) => flags[f] !== undefined);
    if (misplaced) throw usageError('report', [{ path: `--${misplaced}`, message: 'only for `breakglass report digest`' }]);
    const opts = validateFlags(ReportFlagsSchema, { kind, now: flags.now }, 'report', { kind: 'KIND', now: '--now' });
    const report = await ctx.client(cmd).call('report', { params: { kind: opts.kind }, query: opts.now ? { now: opts.now } : {} });
    ctx.emit(cmd, report, () => RENDER[opts.kind](report as never));
  });
}
