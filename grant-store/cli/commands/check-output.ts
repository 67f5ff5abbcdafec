import type { CheckInput, CheckResult } from '../../../shared/domain/check';
import { linkScope } from '../../../shared/domain/check-fast';
import { formatRemaining } from '../../../shared/domain/format-remaining';
import type { WorkloadCheckInput } from '../../../shared/domain/workload-check';
import { requestLink } from '../../../shared/gates/link-text';
import { formatScope, shellQuote } from '../output';

// What `breakglass check` prints, without zod or commander: the command (check.ts) and its fast
// path (fast-check.ts) render an answer with these, so both print the same.

/** A check that could not ask the store: the verdict is still `block` (fail closed), with why. */
export type FailClosedResult = CheckResult & { error: { code: string; message: string } };
/** What `check` prints: the store's answer and, on block, the request page pre-filled (docs/integrations.md). */
export type CheckOutput = (CheckResult | FailClosedResult) & { requestUrl: string | null };

/** The answer with its request link: to the store this command asked, the one the requester can reach too. */
export function checkOutput(result: CheckResult | FailClosedResult, input: CheckInput | WorkloadCheckInput, storeUrl: string, rule: string | undefined): CheckOutput {
  const scope = linkScope(result);
  return {
    ...result,
    requestUrl: result.verdict === 'block' && scope ? requestLink(storeUrl, { gate: input.gate, scope, rule: rule?.trim(), context: input.context }) : null,
  };
}

/**
 * The verdict for later CI steps, one KEY=value per line with no quoting (GitLab's dotenv
 * reports take values as they are); newlines would end a value, so none is written.
 */
export function dotenv(output: CheckOutput): string {
  const values: Record<string, string> = {
    BREAKGLASS_VERDICT: output.verdict,
    BREAKGLASS_GATE: output.gate,
    BREAKGLASS_SUBJECT: formatScope(output.subject),
    BREAKGLASS_BYPASS_ID: output.bypass?.id ?? '',
    BREAKGLASS_EXPIRES_AT: output.bypass?.expiresAt ?? '',
    BREAKGLASS_REQUEST_URL: output.requestUrl ?? '',
  };
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ')}\n`)
    .join('');
}

export function requestCommandFor(input: CheckInput | WorkloadCheckInput): string | null {
  if (!input.subject) return null;
  return `breakglass request --gate ${shellQuote(input.gate)} --scope ${shellQuote(formatScope(input.subject))} --reason "<what is broken and why the gate must be bypassed>" --severity sev3 --ttl 1h`;
}

/** The human rendering of an answer. */
export function describeCheck(result: CheckOutput): string {
  if (result.verdict === 'warn' && result.bypass) {
    const b = result.bypass;
    return [
      `WARN: gate ${result.gate}${/\bSAFETY\b/.test(result.message) ? ' (SAFETY gate)' : ''} passes for ${formatScope(result.subject)} under bypass ${b.id} (request ${b.requestId}).`,
      `Approved by ${b.approvers.join(', ') || 'a standing scope'}; expires ${b.expiresAt} (in ${formatRemaining(Date.parse(b.expiresAt) - Date.now())}).`,
      `Recorded in the ledger as entry ${b.evaluationSeq}.`,
      '',
    ].join('\n');
  }
  // Put the request command on a line of its own so it can be copied as is.
  const command = result.requestCommand;
  const message = command ? result.message.replace(command, '').replace(/\s*(To ask for one|To request a bypass):?\s*$/i, '').trimEnd() : result.message;
  const lines = [message.startsWith('BLOCKED') ? message : `BLOCKED: ${message}`];
  if (result.requestUrl) lines.push('Request a bypass (pre-filled):', `  ${result.requestUrl}`);
  if (command) lines.push(result.requestUrl ? 'or from the command line:' : 'To request a bypass:', `  ${command}`);
  return `${lines.join('\n')}\n`;
}
