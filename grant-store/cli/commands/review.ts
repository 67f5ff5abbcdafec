import type { Command } from 'commander';
import { ReviewIdSchema } from '../../../shared/domain/common';
import { ReviewCompleteInputSchema, ReviewStateSchema, type Review } from '../../../shared/domain/review';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { foldTimeline } from '../../../shared/domain/review-timeline';
import { listPageSize, listPages, printListPages } from '../list-pages';
import { oneLine, textBlock } from '../output';
import { validateFlags, withFlagNames } from '../validate';

export function registerReview(program: Command, ctx: CliContext): void {
  const review = withExamples(
    program.command('review').description('post-incident reviews, opened automatically when a bypass expires or is revoked'),
    'breakglass review list',
    'breakglass review complete rev_0123456789abcdef --finding fix_the_gate --note "The suite is too slow for hotfixes; split it"',
  );

  withExamples(
    review.command('list').description('list reviews (open ones by default), newest opened first; every match, fetched and printed page by page').option('--state <state>', 'review_open | reviewed | all', 'review_open'),
    'breakglass review list',
    'breakglass review list --state all --json',
  ).action(async (flags: { state: string }, cmd: Command) => {
    const state = flags.state === 'all' ? undefined : validateFlags(ReviewStateSchema, flags.state, 'filters', { '': '--state' });
    const client = ctx.client(cmd);
    const pages = listPages((cursor, limit) => client.call('listReviews', { query: { state, limit, cursor } }).then((p) => ({ rows: p.reviews, nextCursor: p.nextCursor })), listPageSize(ctx.env));
    await printListPages(ctx, cmd, pages, {
      key: 'reviews',
      headers: ['ID', 'STATE', 'REQUEST', 'GATE', 'REQUESTER', 'OPENED', 'FINDING'],
      row: (r: Review) => [r.id, r.state, r.requestId, r.gate, r.requester, r.openedAt, r.finding ?? '-'],
      empty: 'no reviews match',
    });
  });

  withExamples(
    review.command('show').description('a review with its timeline: request, decisions, activation, the evaluations under the bypass (runs folded), expiry').argument('<rev>', 'review id'),
    'breakglass review show rev_0123456789abcdef',
  ).action(async (id: string, _flags: unknown, cmd: Command) => {
    const revId = validateFlags(ReviewIdSchema, id, 'review id', { '': 'REV' });
    const r = await ctx.client(cmd).call('getReview', { params: { id: revId } });
    ctx.emit(cmd, r, () => describeReview(r));
  });

  withExamples(
    review
      .command('complete')
      .description('sign off a review (someone other than the requester) with a finding and a note')
      .argument('<rev>', 'review id')
      .requiredOption('--finding <finding>', 'justified | not_justified | fix_the_gate')
      .requiredOption('--note <text>', 'what the review found (at least 10 characters)'),
    'breakglass review complete rev_0123456789abcdef --finding justified --note "Real outage, bypass scoped to one repo, expired on time"',
  ).action(async (id: string, flags: { finding: string; note: string }, cmd: Command) => {
    const revId = validateFlags(ReviewIdSchema, id, 'review id', { '': 'REV' });
    const flagNames = { finding: '--finding', note: '--note' };
    const body = validateFlags(ReviewCompleteInputSchema, { finding: flags.finding, note: flags.note }, 'review', flagNames);
    let r: Review;
    try {
      r = await ctx.client(cmd).call('completeReview', { params: { id: revId }, body });
    } catch (error) {
      throw withFlagNames(error, flagNames);
    }
    ctx.emit(cmd, r, () => {
      const signoffs = r.signoffs ?? [];
      if (r.state === 'review_open') return `Signed off ${r.id} for ${r.requestId} (${signoffs.length} of ${r.signoffsRequired ?? 1}); it stays open until ${(r.signoffsRequired ?? 1) - signoffs.length} more reviewer(s)${r.outsideTeamOnly ? ` from outside team ${r.team}` : ''} sign.\n`;
      return `Completed ${r.id} for ${r.requestId}: ${r.finding ?? '?'} (by ${signoffs.length > 1 ? signoffs.map((s) => s.by).join(' and ') : (r.completedBy ?? '?')}).\n`;
    });
  });
}

export function describeReview(r: Review): string {
  const lines = [
    `${r.id}  ${r.state.toUpperCase()}`,
    `  request:   ${r.requestId} (gate ${r.gate}, requester ${r.requester}, team ${r.team})`,
    `  opened:    ${r.openedAt}`,
  ];
  if (r.signoffsRequired && r.signoffsRequired > 1) {
    const given = r.signoffs ?? [];
    lines.push(`  sign-offs: ${given.length}/${r.signoffsRequired}${r.outsideTeamOnly ? ` (from outside team ${r.team})` : ''}${given.length ? `: ${given.map((s) => `${s.by} (${s.team ?? 'no team'}, ${s.finding})`).join(', ')}` : ''}`);
  }
  if (r.finding) lines.push(`  finding:   ${r.finding} by ${r.completedBy ?? '?'} at ${r.completedAt ?? '?'}`, `  note:      ${textBlock(r.note ?? '', 13)}`);
  lines.push('  timeline:');
  for (const t of foldTimeline(r.timeline)) {
    lines.push(`    #${t.seq}  ${t.time}  ${t.type.padEnd(24)} ${t.actor}: ${oneLine(t.summary)}`);
    if (t.run) lines.push(`    … and ${t.run.count - 1} more like it until #${t.run.lastSeq} at ${t.run.lastTime} (${t.run.count} in all; each one is in the ledger)`);
  }
  return `${lines.join('\n')}\n`;
}
