import type { Command } from 'commander';
import { HistoryQuerySchema, type History } from '../../../shared/domain/api';
import type { BypassRequest } from '../../../shared/domain/request';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { formatScope, formatTable, oneLine } from '../output';
import { validateFlags, withFlagNames } from '../validate';

const FLAGS = { requester: '--requester', team: '--team', gate: '--gate' };

/** `history`: GET /v1/history, how often a requester, a team or a gate needed a bypass. */
export function registerHistory(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('history')
      .description("bypass history: a requester's, a team's (with its quarterly budget) or a gate's; your own when no filter is given")
      .option('--requester <name>', 'this requester (approvers, auditors and admins may name anyone; requesters only themselves)')
      .option('--team <team>', 'this team: counts, recent requests and the bypass budget used this quarter')
      .option('--gate <id>', 'this gate: how often it was bypassed, and whether that is often'),
    'breakglass history',
    'breakglass history --team payments',
    'breakglass history --requester alice --gate container-signing --json',
  ).action(async (flags: { requester?: string; team?: string; gate?: string }, cmd: Command) => {
    const query = validateFlags(HistoryQuerySchema, { requester: flags.requester, team: flags.team, gate: flags.gate }, 'filters', FLAGS);
    const client = ctx.client(cmd);
    if (!query.requester && !query.team && !query.gate) query.requester = (await client.call('whoami')).principal;
    let history: History;
    try {
      history = await client.call('history', { query });
    } catch (error) {
      throw withFlagNames(error, FLAGS);
    }
    ctx.emit(cmd, history, () => describeHistory(history));
  });
}

const recentTable = (recent: readonly BypassRequest[]) =>
  formatTable(
    ['ID', 'STATE', 'GATE', 'REQUESTER', 'SCOPE', 'CREATED', 'REASON'],
    recent.map((r) => [r.id, r.state, r.gate, r.requester, formatScope(r.scope), r.createdAt, oneLine(r.reason.length > 60 ? `${r.reason.slice(0, 59)}…` : r.reason)]),
    'no requests',
  ).replace(/^/gm, '    ');

export function describeHistory(h: History): string {
  const out: string[] = [];
  const counts = (c: { last30Days: number; last90Days: number }) => `${c.last30Days} bypass${c.last30Days === 1 ? '' : 'es'} in the last 30 days, ${c.last90Days} in 90`;
  if (h.requester) out.push(`requester ${h.requester.name}: ${counts(h.requester.counts)}`, '  recent:', recentTable(h.requester.recent).trimEnd());
  if (h.team) {
    const left = h.team.budget - h.team.usedThisQuarter;
    out.push(
      `team ${h.team.name}: ${counts(h.team.counts)}`,
      `  budget:  ${h.team.usedThisQuarter}/${h.team.budget} used this quarter${left < 0 ? ` (OVER by ${-left})` : ` (${left} left)`}`,
      '  recent:',
      recentTable(h.team.recent).trimEnd(),
    );
  }
  if (h.gate) out.push(`gate ${h.gate.id}: ${counts(h.gate.counts)}${h.gate.frequentlyBypassed ? ' (FREQUENTLY BYPASSED: maybe the gate, not the people, needs fixing)' : ''}`);
  return `${out.join('\n')}\n`;
}
