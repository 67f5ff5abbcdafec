import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULT_PAGE_LIMIT } from '../../../shared/domain/page-cursor';
import { ListRequestsQuerySchema, CancelInputSchema, ReplyInputSchema, type RequestCreated } from '../../../shared/domain/api';
import { INCIDENT_REQUIRED_SEVERITIES, RequestIdSchema } from '../../../shared/domain/common';
import { RequestInputSchema, type BypassRequest } from '../../../shared/domain/request';
import { formatRemaining } from '../../../shared/domain/ttl';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { LIST_PAGE, listPageSize, listPages, printListPages } from '../list-pages';
import { formatScope } from '../output';
import { collect, parseScopeFlag, usageError, validateFlags, withFlagNames, type FlagNames } from '../validate';

/** Field paths of RequestInput → the flags that set them. */
const REQUEST_FLAGS: FlagNames = { gate: '--gate', scope: '--scope', reason: '--reason', incidentRef: '--incident', severity: '--severity', ttl: '--ttl', extends: '--extends' };

interface CreateFlags {
  gate: string;
  scope: string[];
  reason: string;
  incident?: string;
  severity: string;
  ttl: string;
  extends?: string;
}

export function registerRequest(program: Command, ctx: CliContext): void {
  const request = withExamples(
    program
      .command('request')
      .description('file a bypass request, answer an approver, cancel or list requests (`request create` is the default)')
      .addHelpText('after', '\nEvery flag of a new request: breakglass request create --help'),
    'breakglass request --gate deploy-freeze --scope repo=payments-api,branch=main --reason "Hotfix for INC-1190: checkout 500s, the slow suite takes 2h" --incident INC-1190 --severity sev1 --ttl 1h',
    'breakglass request reply req_0123456789abcdef --message "Only the payments-api deploy; the rollback is tested"',
    'breakglass request list --state open',
  );

  withExamples(
    request
      .command('create', { isDefault: true })
      .description('ask for a time-boxed bypass of one gate for one scope; prints the request id and who can approve it')
      .requiredOption('--gate <id>', 'the gate to bypass (see the policy: `gates`)')
      .requiredOption('--scope <key=value,...>', 'what the bypass covers, e.g. repo=payments-api,branch=main (repeatable)', collect)
      .requiredOption('--reason <text>', 'why the gate must be bypassed (at least 20 characters)')
      .option('--incident <ref>', 'incident reference, e.g. INC-1190 (required for sev1 and sev2)')
      .requiredOption('--severity <sev>', 'sev1 | sev2 | sev3 | sev4')
      .requiredOption('--ttl <ttl>', "how long the bypass lasts, one of the policy's ttlChoices (e.g. 15m, 1h, 4h)")
      .option('--extends <req>', 'extend an active bypass: a new request linked to it'),
    'breakglass request --gate deploy-freeze --scope repo=payments-api,branch=main --reason "Hotfix for INC-1190: checkout 500s, the slow suite takes 2h" --incident INC-1190 --severity sev1 --ttl 1h',
  ).action(async (flags: CreateFlags, cmd: Command) => {
    const input = validateFlags(
      RequestInputSchema,
      {
        gate: flags.gate,
        scope: parseScopeFlag(flags.scope, '--scope'),
        reason: flags.reason,
        incidentRef: flags.incident,
        severity: flags.severity,
        ttl: flags.ttl,
        extends: flags.extends,
      },
      'request',
      REQUEST_FLAGS,
    );
    if (INCIDENT_REQUIRED_SEVERITIES.includes(input.severity) && !input.incidentRef) {
      throw usageError('request', [{ path: '--incident', message: `an incident reference is required for ${input.severity} (e.g. --incident INC-1190)` }]);
    }
    const client = ctx.client(cmd);
    let created: RequestCreated;
    try {
      created = await client.call('createRequest', { body: input });
    } catch (error) {
      throw withFlagNames(error, REQUEST_FLAGS);
    }
    ctx.emit(cmd, created, () => describeCreated(created));
  });

  withExamples(
    request
      .command('reply')
      .description('answer an approver who asked for more context (needs_info → pending)')
      .argument('<req>', 'request id')
      .requiredOption('--message <text>', 'your answer (at least 5 characters)'),
    'breakglass request reply req_0123456789abcdef --message "Only the payments-api deploy; the rollback is tested"',
  ).action(async (id: string, flags: { message: string }, cmd: Command) => {
    const reqId = validateFlags(RequestIdSchema, id, 'request id', { '': 'REQ' });
    const body = validateFlags(ReplyInputSchema, { message: flags.message }, 'reply', { message: '--message' });
    const result = await ctx.client(cmd).call('replyToRequest', { params: { id: reqId }, body });
    ctx.emit(cmd, result, () => `Replied to ${reqId}; it is ${result.request.state} again and waits for approvers.\n`);
  });

  withExamples(
    request
      .command('cancel')
      .description('withdraw your own pending request')
      .argument('<req>', 'request id')
      .option('--comment <text>', 'why (optional)'),
    'breakglass request cancel req_0123456789abcdef --comment "Fixed forward, no bypass needed"',
  ).action(async (id: string, flags: { comment?: string }, cmd: Command) => {
    const reqId = validateFlags(RequestIdSchema, id, 'request id', { '': 'REQ' });
    const body = validateFlags(CancelInputSchema, { comment: flags.comment }, 'cancel', { comment: '--comment' });
    const result = await ctx.client(cmd).call('cancelRequest', { params: { id: reqId }, body });
    ctx.emit(cmd, result, () => `Cancelled ${reqId} (state: ${result.request.state}).\n`);
  });

  withExamples(
    request
      .command('list')
      .description('list requests (newest first), filtered by state, requester, team or gate')
      .option('--state <state>', 'pending | needs_info | active | denied | cancelled | lapsed | expired | revoked | open')
      .option('--awaiting-me', 'only requests you may decide and have not decided yet')
      .option('--requester <name>', 'only this requester')
      .option('--team <team>', 'only this team')
      .option('--gate <id>', 'only this gate')
      .option('--limit <n>', `at most this many (more than ${LIST_PAGE} are fetched page by page)`, String(DEFAULT_PAGE_LIMIT)),
    'breakglass request list --state open',
    'breakglass request list --awaiting-me --json',
    'breakglass request list --state expired --limit 20000 --json > expired.json',
  ).action(async (flags: { state?: string; awaitingMe?: boolean; requester?: string; team?: string; gate?: string; limit: string }, cmd: Command) => {
    const { limit, ...query } = validateFlags(
      RequestListFlagsSchema,
      { state: flags.state, awaiting: flags.awaitingMe ? 'me' : undefined, requester: flags.requester, team: flags.team, gate: flags.gate, limit: flags.limit },
      'filters',
      { state: '--state', awaiting: '--awaiting-me', requester: '--requester', team: '--team', gate: '--gate', limit: '--limit' },
    );
    const client = ctx.client(cmd);
    const pages = listPages((cursor, pageLimit) => client.call('listRequests', { query: { ...query, limit: pageLimit, cursor } }).then((p) => ({ rows: p.requests, nextCursor: p.nextCursor })), listPageSize(ctx.env), limit);
    await printListPages(ctx, cmd, pages, {
      key: 'requests',
      headers: ['ID', 'STATE', 'GATE', 'REQUESTER', 'SCOPE', 'TTL', 'EXPIRES'],
      row: (r: BypassRequest) => [r.id, r.state, r.gate, r.requester, formatScope(r.scope), r.approvedTtl ?? r.ttl, expiryText(r)],
      empty: 'no requests match',
    });
  });
}

/**
 * `request list`'s flags: the query's filters, and a --limit that may pass one page (the CLI
 * fetches as many pages as it takes).
 */
const RequestListFlagsSchema = ListRequestsQuerySchema.omit({ limit: true, cursor: true }).extend({
  limit: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});

function expiryText(r: BypassRequest): string {
  if (!r.expiresAt) return '-';
  if (r.state !== 'active') return r.expiresAt;
  return `in ${formatRemaining(Date.parse(r.expiresAt) - Date.now())}`;
}

function describeCreated({ request, approvers }: RequestCreated): string {
  const lines = [`Created ${request.id} (${request.state}): bypass of gate ${request.gate} (${request.gateKind}, tier ${request.tier}) for ${formatScope(request.scope)}, ${request.ttl}.`];
  if (request.state === 'active') {
    const why = request.preApproval ? ` pre-approved by incident ${request.preApproval.source}:${request.preApproval.incidentId} (rule ${request.preApproval.rule}); a review opens when it ends` : request.standingScope ? ` under standing scope ${request.standingScope}` : '';
    lines.push(`Active now${why}; expires ${request.expiresAt ?? '?'}.`);
  } else {
    const n = request.approvalsRequired;
    lines.push(`Needs ${n === 1 ? '1 approval' : `${n} approvals from distinct approvers`}. Who can approve: ${approvers.length > 0 ? approvers.join(', ') : 'nobody (check the policy!)'}`);
  }
  lines.push(`Follow it with: breakglass status ${request.id}`);
  return `${lines.join('\n')}\n`;
}
