import { CheckInputSchema, type CheckInput, type CheckResult } from '../../shared/domain/check';
import type { Policy } from '../../shared/domain/policy';
import type { BypassRequest } from '../../shared/domain/request';
import { formatRemaining, ttlToMs } from '../../shared/domain/ttl';
import { AppError, parseOrThrow } from '../../shared/errors';
import { bypassMatches, formatScope } from '../../shared/policy/scope-match';
import { resolveGate, type ResolvedGate } from '../../shared/policy/tier-resolution';
import type { StoreTx } from '../storage/store';
import { actingRole, requireRole } from './access';
import { auditEntry } from './audit-entry';
import { requestAudit } from './request-audit';
import type { Caller, ServiceDeps } from './service-deps';

/** The TTL suggested in a block message: 1h when the tier allows it, else the tier's max. */
const SUGGESTED_TTL = '1h';

/**
 * A gate asks whether (gate, subject) is under an active bypass. Expiry is judged from the
 * server clock at this instant (not from the sweeper), so a bypass never outlives its window.
 * Under a bypass: `warn` plus an evaluation_under_bypass ledger entry. Otherwise: `block`,
 * counted per gate, naming the gate, the rule and the command to ask for a bypass.
 */
export async function checkGate(deps: ServiceDeps, caller: Caller, body: unknown): Promise<CheckResult> {
  requireRole(caller, 'gate', 'admin');
  const input: CheckInput = parseOrThrow(CheckInputSchema, body, 'check');
  const policy = deps.policies.policy;
  const resolved = resolveGate(policy, input.gate);
  if (!resolved) {
    throw new AppError('invalid_input', `unknown gate "${input.gate}"`, { fieldErrors: [{ path: 'gate', message: `unknown gate "${input.gate}" (gates: ${policy.gates.map((g) => g.id).join(', ')})` }] });
  }
  const hot = deps.checks;
  if (hot) {
    // Hot path (grant-store/checks): the bypass comes from the in-memory index and a block is
    // counted in memory, so only a warn touches the database (to record its evaluation).
    // Expiry stays exact: the index never matches a bypass whose window ended at `now`.
    const now = deps.clock();
    const bypass = await hot.match(input.gate, input.subject, now.getTime());
    if (!bypass) {
      hot.countBlock(input.gate, now.toISOString());
      return blocked(policy, resolved, input, now.toISOString());
    }
    // Group commit: concurrent warns share one durable commit (grant-store/checks/group-commit.ts).
    return hot.transaction(async (tx) => {
      // The index may lag a revocation committed a moment ago: confirm the bypass inside the
      // transaction, and fall back to the database lookup if it is no longer active.
      const fresh = await tx.getRequest(bypass.id);
      if (fresh && fresh.state === 'active' && fresh.expiresAt && fresh.expiresAt > now.toISOString()) return underBypass(tx, caller, resolved, input, fresh, now);
      return checkInTx(tx, deps, caller, resolved, input, now);
    });
  }
  return deps.store.transaction((tx) => checkInTx(tx, deps, caller, resolved, input, deps.clock()));
}

/** The check answered from the database inside `tx` (no index, or the index was stale). */
async function checkInTx(tx: StoreTx, deps: ServiceDeps, caller: Caller, resolved: ResolvedGate, input: CheckInput, now: Date): Promise<CheckResult> {
  const at = now.toISOString();
  const bypass = (await tx.findActiveBypasses(input.gate, at)).find((r) => bypassMatches(r, input.gate, input.subject));
  if (!bypass) {
    await tx.incrementGateBlocks(input.gate, at);
    return blocked(deps.policies.policy, resolved, input, at);
  }
  return underBypass(tx, caller, resolved, input, bypass, now);
}

function blocked(policy: Policy, resolved: ResolvedGate, input: CheckInput, at: string): CheckResult {
  const command = requestCommand(policy, resolved, input);
  return {
    verdict: 'block',
    gate: input.gate,
    subject: input.subject,
    message: `BLOCKED by gate ${input.gate} (${ruleText(resolved)}): no active bypass covers ${formatScope(input.subject)}. To ask for one: ${command}`,
    requestCommand: command,
    bypass: null,
    checkedAt: at,
  };
}

async function underBypass(tx: StoreTx, caller: Caller, resolved: ResolvedGate, input: CheckInput, bypass: BypassRequest, now: Date): Promise<CheckResult> {
  const at = now.toISOString();
  const approvers = bypass.approvals.map((a) => a.approver);
  const [entry] = await tx.appendLedger([
    auditEntry(at, 'evaluation_under_bypass', caller, requestAudit(bypass, {
      actorRole: actingRole(caller, 'gate', 'admin'),
      data: { bypassId: bypass.bypassId, subject: input.subject, context: input.context ?? null, verdict: 'warn', gateKind: resolved.gate.kind },
    })),
  ]);
  const expiresAt = bypass.expiresAt!;
  const by = approvers.length > 0 ? `approved by ${approvers.join(', ')}` : `standing scope ${bypass.standingScope}`;
  return {
    verdict: 'warn',
    gate: input.gate,
    subject: input.subject,
    message: `WARN: gate ${input.gate}${resolved.gate.kind === 'safety' ? ' (SAFETY gate)' : ''} bypassed by ${bypass.bypassId} for request ${bypass.id} (${by}), expires ${expiresAt} (in ${formatRemaining(Date.parse(expiresAt) - now.getTime())}). This evaluation is recorded in the ledger.`,
    requestCommand: null,
    bypass: { id: bypass.bypassId!, requestId: bypass.id, approvers, expiresAt, evaluationSeq: entry!.seq },
    checkedAt: at,
  };
}

function ruleText(resolved: ResolvedGate): string {
  const approvals = resolved.tier.approvals === 1 ? '1 approval' : `${resolved.tier.approvals} distinct approvals`;
  return `${resolved.gate.kind} gate, tier ${resolved.tierName}: a bypass needs ${approvals}, at most ${resolved.tier.maxTtl}`;
}

function requestCommand(policy: Policy, resolved: ResolvedGate, input: CheckInput): string {
  const ttl = policy.ttlChoices.includes(SUGGESTED_TTL) && ttlToMs(SUGGESTED_TTL) <= ttlToMs(resolved.tier.maxTtl) ? SUGGESTED_TTL : resolved.tier.maxTtl;
  return `breakglass request --gate ${input.gate} --scope ${formatScope(input.subject)} --reason "<what is broken and why the gate must be bypassed>" --severity sev2 --incident <INC-ID> --ttl ${ttl}`;
}
