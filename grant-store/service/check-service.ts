import type { CheckInput, CheckResult } from '../../shared/domain/check';
import type { Scope } from '../../shared/domain/common';
import type { Policy } from '../../shared/domain/policy';
import type { BypassRequest } from '../../shared/domain/request';
import { formatRemaining, ttlToMs } from '../../shared/domain/ttl';
import { AppError } from '../../shared/errors';
import { isBypassNever } from '../../shared/policy/policy-requirements';
import { bypassRuleText } from '../../shared/policy/safety-gates';
import { formatScope } from '../../shared/policy/scope-match';
import { declaredScope, ruleCovers, scopeRuleOf, subjectRefusal, type ScopeRule } from '../../shared/policy/scope-rules';
import { resolveGate, type ResolvedGate } from '../../shared/policy/tier-resolution';
import { parseCheckInput } from '../checks/check-input';
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
  return answerCheck(deps, caller, body);
}

/**
 * checkGate for the HTTP route: the same answer, returned synchronously when it comes from
 * memory (a block), so Fastify sends it without a promise round; a warn (answered after its
 * commit) or a check waiting for an activation read is a promise. Bad input and a missing
 * role throw synchronously.
 */
export function answerCheck(deps: ServiceDeps, caller: Caller, body: unknown): CheckResult | Promise<CheckResult> {
  requireRole(caller, 'gate', 'admin');
  return answerCheckInput(deps, caller, parseCheckInput(body));
}

/**
 * answerCheck for input already parsed by parseCheckInput, as the check route's body is (the
 * registrar parses it with the route's parser): the gate check does not validate its body twice.
 */
export function answerCheckInput(deps: ServiceDeps, caller: Caller, input: CheckInput): CheckResult | Promise<CheckResult> {
  requireRole(caller, 'gate', 'admin');
  const policy = deps.policies.policy;
  const gate = gateAnswers(policy, input.gate);
  // Tamper alarm: the ledger no longer governs the tables, so no bypass is trusted (fail closed).
  const halted = deps.ledgerGuard?.describe();
  if (halted) return haltedBlock(gate, input, halted, deps.clock().toISOString());
  const hot = deps.checks;
  if (hot) {
    // Hot path (grant-store/checks): the bypass comes from the in-memory index and a block is
    // counted in memory, so only a warn touches the database (to record its evaluation).
    // Expiry stays exact: the index never matches a bypass whose window ended at `now`.
    const now = deps.clock();
    if (!usable(gate, input)) return hotAnswer(deps, caller, gate, input, now, undefined);
    const found = hot.match(input.gate, input.subject, now.getTime(), gate.rule);
    if (found instanceof Promise) return found.then((bypass) => hotAnswer(deps, caller, gate, input, now, bypass));
    return hotAnswer(deps, caller, gate, input, now, found);
  }
  return deps.store.transaction((tx) => checkInTx(tx, caller, gate, input, deps.clock()));
}

function hotAnswer(deps: ServiceDeps, caller: Caller, gate: GateAnswers, input: CheckInput, now: Date, bypass: BypassRequest | undefined): CheckResult | Promise<CheckResult> {
  const hot = deps.checks!;
  if (!bypass) {
    const at = isoInstant(now);
    hot.countBlock(input.gate, at);
    return gate.blocked(input.subject, at);
  }
  // Group commit: concurrent warns share one durable commit (grant-store/checks/group-commit.ts).
  return hot.transaction(async (tx) => {
    // The index may lag a revocation committed a moment ago: confirm the bypass inside the
    // transaction, and fall back to the database lookup if it is no longer active.
    const fresh = await tx.getRequest(bypass.id);
    if (fresh && fresh.state === 'active' && fresh.expiresAt && fresh.expiresAt > now.toISOString()) return underBypass(tx, caller, gate.resolved, input, fresh, now);
    return checkInTx(tx, caller, gate, input, now);
  }, bypass.id);
}

/** The instant isoInstant turned into text last, and that text. */
let lastInstantMs = Number.NaN;
let lastInstantText = '';

/**
 * `now.toISOString()`, reusing the text of the previous call when the instant is the same
 * millisecond: gate checks arriving flat out share milliseconds, and toISOString was a sizeable
 * share of a block answered from memory. An invalid date throws as toISOString does.
 */
export function isoInstant(now: Date): string {
  const ms = now.getTime();
  if (ms !== lastInstantMs) {
    lastInstantText = now.toISOString();
    lastInstantMs = ms;
  }
  return lastInstantText;
}

/**
 * The check without side effects, for a dry run (Kubernetes `dryRun`, a webhook declared
 * `sideEffects: NoneOnDryRun`): the same verdict and message as checkGate at this instant, but
 * no evaluation is recorded and no block is counted. The bypass carries no evaluationSeq.
 */
export async function peekCheck(deps: ServiceDeps, caller: Caller, body: unknown): Promise<Omit<CheckResult, 'bypass'> & { bypass: (Omit<NonNullable<CheckResult['bypass']>, 'evaluationSeq'> & { evaluationSeq: null }) | null }> {
  requireRole(caller, 'gate', 'admin');
  const input: CheckInput = parseCheckInput(body);
  const gate = gateAnswers(deps.policies.policy, input.gate);
  const now = deps.clock();
  const at = now.toISOString();
  const bypass = usable(gate, input) ? covering(gate, input, await deps.store.findActiveBypasses(input.gate, at)) : undefined;
  if (!bypass) return { ...gate.blocked(input.subject, at), bypass: null };
  const approvers = bypass.approvals.map((a) => a.approver);
  return {
    verdict: 'warn',
    gate: input.gate,
    subject: input.subject,
    message: `WARN (dry run, not recorded): gate ${input.gate} would pass under bypass ${bypass.bypassId} for request ${bypass.id}, expires ${bypass.expiresAt}.`,
    requestCommand: null,
    gateKind: gate.resolved.gate.kind,
    bypassable: true,
    bypass: { id: bypass.bypassId!, requestId: bypass.id, approvers, expiresAt: bypass.expiresAt!, evaluationSeq: null },
    checkedAt: at,
  };
}

/**
 * A gate's resolution and its block answer, worked out once per (policy, gate): the rule text
 * and the suggested command depend only on the policy, so a block only splices in the subject
 * and the time. A reloaded policy is a new object, hence new entries (the WeakMap drops the
 * old ones). Unknown gates are not cached (a caller could send any number of them).
 */
interface GateAnswers {
  resolved: ResolvedGate;
  /** The gate's scope rule (the match is on its declared keys). */
  rule: ScopeRule | undefined;
  /** `bypass: never`: always blocks, and no bypass is offered. */
  never: boolean;
  blocked(subject: Scope, at: string): CheckResult;
}
const answersByPolicy = new WeakMap<Policy, Map<string, GateAnswers>>();

function gateAnswers(policy: Policy, gateId: string): GateAnswers {
  let byGate = answersByPolicy.get(policy);
  const cached = byGate?.get(gateId);
  if (cached) return cached;
  const resolved = resolveGate(policy, gateId);
  if (!resolved) {
    throw new AppError('invalid_input', `unknown gate "${gateId}"`, { fieldErrors: [{ path: 'gate', message: `unknown gate "${gateId}" (gates: ${policy.gates.map((g) => g.id).join(', ')})` }] });
  }
  const rule = scopeRuleOf(resolved.gate);
  const answers: GateAnswers = { resolved, rule, never: isBypassNever(resolved.gate), blocked: blockAnswer(policy, resolved, rule) };
  if (!byGate) answersByPolicy.set(policy, (byGate = new Map()));
  byGate.set(gateId, answers);
  return answers;
}

/**
 * The block answer for one gate: `blocked(subject, at)`, with the text around the scope
 * precomputed. It says which kind of gate blocked and why: a kept gate (`bypass: never`) offers
 * no bypass; a subject the gate's scope rule can never match (a declared key missing, an
 * attribute the gate does not allow) says what is wrong; otherwise the command to ask for a
 * bypass of exactly the declared keys.
 */
function blockAnswer(policy: Policy, resolved: ResolvedGate, rule: ScopeRule | undefined): (subject: Scope, at: string) => CheckResult {
  const gate = resolved.gate.id;
  const gateKind = resolved.gate.kind;
  if (isBypassNever(resolved.gate)) {
    const message = `BLOCKED by gate ${gate} (${gateKind === 'safety' ? 'SAFETY gate, kept' : `${gateKind} gate, kept`}: bypass: never, so no bypass, approval or emergency credential opens it). Fix what the gate reports, then run it again.`;
    return (subject, at) => ({ verdict: 'block', gate, subject, message, requestCommand: null, gateKind, bypassable: false, requestScope: null, bypass: null, checkedAt: at });
  }
  const messageHead = `BLOCKED by gate ${gate} (${bypassRuleText(resolved)}): `;
  const commandHead = `breakglass request --gate ${gate} --scope `;
  // The request scope's text (formatScope of declaredScope) in a loop over the declared keys,
  // sorted once here: a subject the rule does not refuse carries every one of them.
  const sortedKeys = rule ? [...new Set(rule.keys)].sort() : undefined;
  const commandTail = ` --reason "<what is broken and why the gate must be bypassed>" --severity sev2 --incident <INC-ID> --ttl ${suggestedTtl(policy, resolved)}`;
  return (subject, at) => {
    const refusal = subjectRefusal(rule, subject);
    if (refusal !== undefined) {
      return { verdict: 'block', gate, subject, message: `${messageHead}${refusal}, so no bypass can cover it.`, requestCommand: null, gateKind, bypassable: false, requestScope: null, bypass: null, checkedAt: at };
    }
    const requestScope = declaredScope(rule, subject);
    const scope = sortedKeys ? declaredScopeText(sortedKeys, subject) : formatScope(requestScope);
    const command = commandHead + scope + commandTail;
    return {
      verdict: 'block',
      gate,
      subject,
      message: `${messageHead}no active bypass covers ${scope}. To ask for one: ${command}`,
      requestCommand: command,
      gateKind,
      bypassable: true,
      requestScope,
      bypass: null,
      checkedAt: at,
    };
  };
}

/** formatScope(declaredScope(rule, subject)) for a subject carrying every declared key (`sortedKeys`, sorted as formatScope sorts). */
function declaredScopeText(sortedKeys: readonly string[], subject: Scope): string {
  let text = '';
  for (let i = 0; i < sortedKeys.length; i++) text += `${i === 0 ? '' : ','}${sortedKeys[i]!}=${subject[sortedKeys[i]!]!}`;
  return text;
}

/** The block every check gets while the ledger is halted, naming the halt. */
function haltedBlock(gate: GateAnswers, input: CheckInput, halted: string, at: string): CheckResult {
  const answer = gate.blocked(input.subject, at);
  return { ...answer, message: `BLOCKED by gate ${answer.gate}: the grant store's ${halted}. No bypass is honoured until the ledger is restored and the store restarted.` };
}

/** The check answered from the database inside `tx` (no index, or the index was stale). */
async function checkInTx(tx: StoreTx, caller: Caller, gate: GateAnswers, input: CheckInput, now: Date): Promise<CheckResult> {
  const at = now.toISOString();
  const bypass = usable(gate, input) ? covering(gate, input, await tx.findActiveBypasses(input.gate, at)) : undefined;
  if (!bypass) {
    await tx.incrementGateBlocks(input.gate, at);
    return gate.blocked(input.subject, at);
  }
  return underBypass(tx, caller, gate.resolved, input, bypass, now);
}

/** Whether any bypass could cover the subject: not a kept gate, and the subject carries what the gate's scope rule needs. */
function usable(gate: GateAnswers, input: CheckInput): boolean {
  return !gate.never && subjectRefusal(gate.rule, input.subject) === undefined;
}

/** The first of the gate's active bypasses whose scope covers the subject under the gate's scope rule. */
function covering(gate: GateAnswers, input: CheckInput, active: readonly BypassRequest[]): BypassRequest | undefined {
  return active.find((r) => r.gate === input.gate && ruleCovers(gate.rule, r.scope, input.subject));
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
    gateKind: resolved.gate.kind,
    bypassable: true,
    bypass: { id: bypass.bypassId!, requestId: bypass.id, approvers, expiresAt, evaluationSeq: entry!.seq },
    checkedAt: at,
  };
}

function suggestedTtl(policy: Policy, resolved: ResolvedGate): string {
  return policy.ttlChoices.includes(SUGGESTED_TTL) && ttlToMs(SUGGESTED_TTL) <= ttlToMs(resolved.tier.maxTtl) ? SUGGESTED_TTL : resolved.tier.maxTtl;
}
