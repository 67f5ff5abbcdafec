import type { Command } from 'commander';
import type { RequestDetail } from '../../../shared/domain/api';
import { RequestIdSchema } from '../../../shared/domain/common';
import { TERMINAL_STATES } from '../../../shared/domain/request';
import { keyHardwareLabel } from '../../../shared/domain/identity';
import type { DecisionRecord } from '../../../shared/domain/decision';
import { formatRemaining } from '../../../shared/domain/ttl';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { formatScope, textBlock } from '../output';
import { validateFlags } from '../validate';
import { budgetText } from '../../../shared/policy/budget';

/** How often `status --watch` refreshes (the countdown is shown to the second). */
const WATCH_INTERVAL_MS = 1_000;

export function registerStatus(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('status')
      .description("a request's state, approvals, messages and the countdown to its expiry")
      .argument('<req>', 'request id')
      .option('--watch', 'refresh every second until the request reaches a final state (Ctrl-C to stop)'),
    'breakglass status req_0123456789abcdef',
    'breakglass status req_0123456789abcdef --watch',
  ).action(async (id: string, flags: { watch?: boolean }, cmd: Command) => {
    const reqId = validateFlags(RequestIdSchema, id, 'request id', { '': 'REQ' });
    const client = ctx.client(cmd);
    let detail = await client.call('getRequest', { params: { id: reqId } });
    if (!flags.watch) {
      ctx.emit(cmd, detail, () => describe(detail));
      return;
    }
    // --watch --json: one compact JSON document per line (NDJSON), easy to stream.
    const json = ctx.globals(cmd).json;
    const show = (first: boolean) => ctx.io.stdout(json ? `${JSON.stringify(detail)}\n` : `${first ? '' : '\n'}${describe(detail)}`);
    show(true);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    try {
      while (!stop.signal.aborted && !TERMINAL_STATES.includes(detail.request.state)) {
        await new Promise((resolve) => setTimeout(resolve, WATCH_INTERVAL_MS));
        if (stop.signal.aborted) break;
        detail = await client.call('getRequest', { params: { id: reqId } });
        show(false);
      }
    } finally {
      process.off('SIGINT', onSignal);
    }
  });
}

export function describe({ request: r, decisions, approvers }: RequestDetail): string {
  const lines = [
    `${r.id}  ${r.state.toUpperCase()}`,
    `  gate:      ${r.gate} (${r.gateKind}, tier ${r.tier})`,
    `  scope:     ${formatScope(r.scope)}`,
    `  requester: ${r.requester} (team ${r.team})`,
    `  severity:  ${r.severity}${r.incidentRef ? `, incident ${r.incidentRef}` : ''}`,
    `  reason:    ${textBlock(r.reason, 13)}`,
    `  ttl:       ${r.ttl} asked${r.approvedTtl ? `, ${r.approvedTtl} approved` : ''}`,
    `  approvals: ${r.approvals.length}/${r.approvalsRequired}${r.approvals.length > 0 ? ` (${r.approvals.map((a) => `${a.approver} [${keyHardwareLabel(a)}]`).join(', ')})` : ''}`,
  ];
  if (r.budget) lines.push(`  budget:    ${budgetText(r.team, r.budget)}`);
  if (r.standingScope) lines.push(`  standing:  ${r.standingScope}`);
  if (r.emergencyCredential) lines.push(`  EMERGENCY: opened with sealed credential ${r.emergencyCredential}, no approver; its review needs sign-offs from outside team ${r.team}`);
  if (r.preApproval) lines.push(`  pre-approved: by incident ${r.preApproval.source}:${r.preApproval.incidentId} (rule ${r.preApproval.rule}, payload ${r.preApproval.payloadDigest}, ledger #${r.preApproval.eventSeq})`);
  if (r.state === 'pending' || r.state === 'needs_info') {
    lines.push(`  deciders:  ${approvers.join(', ') || 'nobody'}`);
    if (r.lapsesAt) lines.push(`  lapses:    ${r.lapsesAt} (in ${formatRemaining(Date.parse(r.lapsesAt) - Date.now())})`);
  }
  if (r.bypassId) lines.push(`  bypass:    ${r.bypassId}`);
  if (r.activatedAt) lines.push(`  active:    since ${r.activatedAt}`);
  if (r.expiresAt) {
    const left = Date.parse(r.expiresAt) - Date.now();
    lines.push(`  expires:   ${r.expiresAt}${r.state === 'active' ? ` (in ${formatRemaining(left)})` : ''}`);
  }
  if (r.closedAt) lines.push(`  closed:    ${r.closedAt}${r.closedBy ? ` by ${r.closedBy}` : ''}${r.closeComment ? `: ${textBlock(r.closeComment, 6)}` : ''}`);
  if (r.messages.length > 0) {
    lines.push('  messages:');
    for (const m of r.messages) lines.push(`    ${m.at}  ${m.from} (${m.kind}): ${textBlock(m.text, 6)}`);
  }
  if (decisions.length > 0) {
    lines.push('  decisions:');
    for (const d of decisions) lines.push(`    ${d.at}  ${d.approver} ${d.decision}${d.ttl ? ` ${d.ttl}` : ''}${d.comment ? `: ${textBlock(d.comment, 6)}` : ''}  [ledger #${d.seq}${d.hardware ? `, ${decisionKeyText(d)}` : ''}]`);
  }
  return `${lines.join('\n')}\n`;
}

/** `key attested (tpm, serial 0de0a1)`, `key claimed, not attested` or `key software`. */
function decisionKeyText(d: Pick<DecisionRecord, 'hardware' | 'attestation'>): string {
  return `key ${keyHardwareLabel({ hardwareBacked: d.hardware !== 'software', attestation: d.hardware === 'attested' ? d.attestation : null })}`;
}
