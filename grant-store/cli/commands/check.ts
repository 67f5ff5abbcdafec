import type { Command } from 'commander';
import { CheckInputSchema, type CheckInput, type CheckResult } from '../../../shared/domain/check';
import { formatRemaining } from '../../../shared/domain/ttl';
import { AppError } from '../../../shared/errors';
import { DEFAULT_CHECK_TIMEOUT_MS, type CliContext } from '../context';
import { EXIT_OK, EXIT_REFUSED } from '../exit-codes';
import { withExamples } from '../help';
import { formatScope, shellQuote } from '../output';
import { collect, parseScopeFlag, validateFlags } from '../validate';

/** A check that could not ask the store: the verdict is still `block` (fail closed), with why. */
export type FailClosedResult = CheckResult & { error: { code: string; message: string } };

export function registerCheck(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('check')
      .description('ask the store whether a gate may pass for a subject: block (exit 1) unless an active bypass covers it (warn, exit 0); fails closed when the store cannot answer')
      .requiredOption('--gate <id>', 'the gate asking, e.g. deploy-freeze')
      .requiredOption('--subject <key=value,...>', 'what is being gated, e.g. repo=payments-api,branch=main (repeatable)', collect)
      .option('--context <key=value,...>', 'CI context recorded with an evaluation under bypass, e.g. job=https://ci/123 (repeatable)', collect),
    'breakglass check --gate deploy-freeze --subject repo=payments-api,branch=main',
    'breakglass check --gate deploy-freeze --subject repo=payments-api,branch=main --json --timeout 2s   # in CI',
  ).action(async (flags: { gate: string; subject: string[]; context?: string[] }, cmd: Command) => {
    const input: CheckInput = validateFlags(
      CheckInputSchema,
      { gate: flags.gate, subject: parseScopeFlag(flags.subject, '--subject'), context: flags.context ? parseContext(flags.context) : undefined },
      'check',
      { gate: '--gate', subject: '--subject', context: '--context' },
    );
    // A bad --store or a missing token is a usage error (exit 2); anything the store could
    // not or would not answer fails closed: verdict block, exit 1, saying why.
    const client = ctx.client(cmd, { defaultTimeoutMs: DEFAULT_CHECK_TIMEOUT_MS });
    let result: CheckResult | FailClosedResult;
    try {
      result = await client.post<CheckResult>('/v1/checks', input);
    } catch (error) {
      result = failClosed(input, error);
    }
    ctx.exitCode = result.verdict === 'warn' ? EXIT_OK : EXIT_REFUSED;
    ctx.emit(cmd, result, () => describe(result));
  });
}

/** `--context job=https://ci/1,commit=abc` → record (values may contain anything but commas). */
function parseContext(parts: string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const item of parts.flatMap((p) => p.split(','))) {
    const eq = item.indexOf('=');
    if (eq > 0) context[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
    else if (item.trim() !== '') context[item.trim()] = '';
  }
  return context;
}

function requestCommandFor(input: CheckInput): string {
  return `breakglass request --gate ${shellQuote(input.gate)} --scope ${shellQuote(formatScope(input.subject))} --reason "<what is broken and why the gate must be bypassed>" --severity sev3 --ttl 1h`;
}

function failClosed(input: CheckInput, error: unknown): FailClosedResult {
  const err = error instanceof AppError ? error : new AppError('internal', (error as Error)?.message ?? String(error));
  // The field messages often say more ("unknown gate "x" (gates: a, b)"): use them, once.
  const parts = [err.message];
  for (const { message } of err.fieldErrors ?? []) {
    if (message.includes(parts[0] as string)) parts[0] = message;
    else if (!parts.some((p) => p.includes(message))) parts.push(message);
  }
  const why = parts.join(': ');
  const unreachable = err.code === 'store_unreachable';
  return {
    verdict: 'block',
    gate: input.gate,
    subject: input.subject,
    message: unreachable
      ? `BLOCKED (fail closed): gate ${input.gate} could not be checked, so it blocks: ${why}`
      : `BLOCKED (fail closed): the store refused to check gate ${input.gate} (${err.code}): ${why}`,
    // Only worth suggesting when the gate itself is fine and the store was merely unreachable.
    requestCommand: unreachable ? requestCommandFor(input) : null,
    bypass: null,
    checkedAt: new Date().toISOString(),
    error: { code: err.code, message: why },
  };
}

function describe(result: CheckResult | FailClosedResult): string {
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
  if (command) lines.push('To request a bypass:', `  ${command}`);
  return `${lines.join('\n')}\n`;
}
