import type { Command } from 'commander';
import { CommentSchema, RequestIdSchema } from '../../../shared/domain/common';
import type { DecisionKind, DecisionRecord } from '../../../shared/domain/decision';
import type { BypassRequest } from '../../../shared/domain/request';
import { TtlSchema } from '../../../shared/domain/ttl';
import { configPath } from '../config-file';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { formatScope } from '../output';
import { usageError, validateFlags, withFlagNames } from '../validate';

interface DecideFlags {
  comment?: string;
  key?: string;
  ttl?: string;
}

interface VerbSpec {
  verb: 'approve' | 'deny' | 'ask' | 'revoke';
  decision: DecisionKind;
  description: string;
  example: string;
  done: (r: BypassRequest) => string;
}

const VERBS: VerbSpec[] = [
  {
    verb: 'approve',
    decision: 'approve',
    description: 'approve a request, signed with your key; the bypass activates when the tier threshold of distinct approvers is met',
    example: 'breakglass approve req_0123456789abcdef --comment "Checked INC-1190, rollback plan ok" --key ~/.config/breakglass/bob.key --ttl 1h',
    done: (r) =>
      r.state === 'active'
        ? `Approved ${r.id}: bypass ${r.bypassId ?? ''} is ACTIVE for gate ${r.gate} on ${formatScope(r.scope)} until ${r.expiresAt ?? '?'} (approved by ${r.approvals.map((a) => a.approver).join(', ')}).`
        : `Approved ${r.id}: ${r.approvals.length}/${r.approvalsRequired} approvals, still ${r.state}.`,
  },
  {
    verb: 'deny',
    decision: 'deny',
    description: 'deny a request, signed with your key (the comment says why)',
    example: 'breakglass deny req_0123456789abcdef --comment "Not an incident: wait for the suite" --key bob.key',
    done: (r) => `Denied ${r.id} (state: ${r.state}).`,
  },
  {
    verb: 'ask',
    decision: 'request_info',
    description: 'ask the requester for more context (the request goes to needs_info until they reply)',
    example: 'breakglass ask req_0123456789abcdef --comment "Which deploys exactly? Is the rollback tested?" --key bob.key',
    done: (r) => `Asked the requester of ${r.id} for more information (state: ${r.state}). They answer with: breakglass request reply ${r.id} --message "..."`,
  },
  {
    verb: 'revoke',
    decision: 'revoke',
    description: 'end an active bypass now, signed with your key; a review opens',
    example: 'breakglass revoke req_0123456789abcdef --comment "Fix deployed, closing the bypass" --key bob.key',
    done: (r) => `Revoked ${r.id} (state: ${r.state}); a post-incident review is open.`,
  },
];

export function registerDecisions(program: Command, ctx: CliContext): void {
  for (const spec of VERBS) {
    const cmd = program
      .command(spec.verb)
      .description(spec.description)
      .argument('<req>', 'request id')
      .option('--comment <text>', spec.decision === 'approve' ? 'why you approve (optional)' : 'why (at least 5 characters)')
      .option('--key <file>', "your ECDSA P-256 private key (PEM), enrolled with `breakglass admin approver enroll`; default: the current context's decisionKey (config.yaml)");
    if (spec.decision === 'approve') cmd.option('--ttl <ttl>', 'grant a shorter TTL than asked (never longer)');
    withExamples(cmd, spec.example).action(async (id: string, flags: DecideFlags, command: Command) => {
      const request = await decide(ctx, command, spec, id, flags);
      ctx.emit(command, request, () => `${spec.done(request.request)}\n`);
    });
  }
}

async function decide(ctx: CliContext, cmd: Command, spec: VerbSpec, id: string, flags: DecideFlags): Promise<{ request: BypassRequest; decision: DecisionRecord }> {
  const reqId = validateFlags(RequestIdSchema, id, 'request id', { '': 'REQ' });
  const comment = validateFlags(CommentSchema, flags.comment ?? '', spec.verb, { '': '--comment' });
  if (spec.decision !== 'approve' && comment.length < 5) {
    throw usageError(spec.verb, [{ path: '--comment', message: `a ${spec.verb} needs a comment of at least 5 characters saying why` }]);
  }
  const ttl = flags.ttl !== undefined ? validateFlags(TtlSchema, flags.ttl, spec.verb, { '': '--ttl' }) : undefined;
  // Signing pulls in @sigstore/*: load it only for the decision verbs.
  const [{ loadFileKeySigner }, { verifyThenSignDecision }] = await Promise.all([import('../../../shared/node/signing/key-files'), import('../../../shared/node/signing/verify-then-sign')]);
  const keyFile = flags.key ?? decisionKeyFromConfig(ctx, cmd);
  let signer;
  try {
    signer = await loadFileKeySigner(keyFile);
  } catch (error) {
    throw usageError(spec.verb, [{ path: '--key', message: (error as Error).message }]);
  }

  const client = ctx.client(cmd);
  const me = await client.call('whoami');
  const detail = await client.call('getRequest', { params: { id: reqId } });
  const { bundle } = await verifyThenSignDecision(detail.request, { decision: spec.decision, approver: me.principal, comment, ttl, now: new Date() }, signer);
  try {
    return await client.call('submitDecision', { params: { id: reqId }, body: { bundle } });
  } catch (error) {
    throw withFlagNames(error, { ttl: '--ttl', comment: '--comment', 'bundle.statement.ttl': '--ttl', 'bundle.statement.comment': '--comment' });
  }
}

/**
 * The key to sign with when --key is not given: the decisionKey of the context in force
 * (--use-context, BREAKGLASS_CONTEXT or currentContext in config.yaml; CliContext resolves `~`
 * and paths relative to the file). Without one, the error says both ways to name a key.
 */
export function decisionKeyFromConfig(ctx: CliContext, cmd: Command): string {
  const key = ctx.contextDecisionKey(cmd);
  if (key) return key;
  const selected = ctx.configContext(cmd);
  const where = selected ? `context "${selected.name}" in ${configPath(ctx.env)} has no decisionKey` : `no context is selected in ${configPath(ctx.env)}`;
  throw usageError('decision', [{ path: '--key', message: `no key to sign with: pass --key FILE, or set decisionKey on the current context (${where})` }]);
}
