import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CheckInputSchema, linkScope, type CheckInput, type CheckResult } from '../../../shared/domain/check';
import { WorkloadCheckInputSchema, type WorkloadCheckInput } from '../../../shared/domain/workload-check';
import { formatRemaining } from '../../../shared/domain/ttl';
import { AppError } from '../../../shared/errors';
import { MAX_RULE_LENGTH, requestLink } from '../../../shared/gates/request-link';
import { DEFAULT_CHECK_TIMEOUT_MS, type CliContext } from '../context';
import { CHECK_ROUTES } from '../../../shared/http/check-routes';
import { nodeFetch } from '../../../shared/node/http/node-fetch';
import { StoreClient } from '../../../shared/node/http/store-client';
import { EXIT_OK, EXIT_REFUSED } from '../exit-codes';
import { withExamples } from '../help';
import { formatScope, shellQuote } from '../output';
import { collect, parseScopeFlag, usageError, validateFlags } from '../validate';

/** A check that could not ask the store: the verdict is still `block` (fail closed), with why. */
export type FailClosedResult = CheckResult & { error: { code: string; message: string } };
/** What `check` prints: the store's answer and, on block, the request page pre-filled (docs/integrations.md). */
type CheckOutput = (CheckResult | FailClosedResult) & { requestUrl: string | null };

interface CheckFlags {
  gate: string;
  subject?: string[];
  context?: string[];
  rule?: string;
  dotenv?: string;
}

export function registerCheck(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('check')
      .description(
        'ask the store whether a gate may pass for a subject: block (exit 1) unless an active bypass covers it (warn, exit 0); fails closed when the store cannot answer. ' +
          'In a CI job with an OIDC ID token in BREAKGLASS_ID_TOKEN (GitLab id_tokens) and no --token, the job authenticates with it and the store derives the subject from it.',
      )
      .requiredOption('--gate <id>', 'the gate asking, e.g. deploy-freeze')
      .option('--subject <key=value,...>', 'what is being gated, e.g. repo=payments-api,branch=main (repeatable; with an ID token: only keys the policy lets a job add)', collect)
      .option('--context <key=value,...>', 'CI context recorded with an evaluation under bypass and put in the request link, e.g. job=https://ci/123 (repeatable)', collect)
      .option('--rule <text>', 'what this gate enforces, shown on the request page, e.g. "cosign verify"')
      .option('--dotenv <file>', 'also write the verdict as KEY=value lines for later CI steps (GitLab artifacts:reports:dotenv, $GITHUB_ENV)'),
    'breakglass check --gate deploy-freeze --subject repo=payments-api,branch=main',
    'breakglass check --gate deploy-freeze --subject repo=payments-api,branch=main --json --timeout 2s   # in CI',
    'BREAKGLASS_ID_TOKEN=$CI_JOB_JWT breakglass check --gate deploy-freeze --dotenv breakglass.env   # GitLab, workload identity',
  ).action(async (flags: CheckFlags, cmd: Command) => {
    if (flags.rule !== undefined && (flags.rule.trim() === '' || flags.rule.length > MAX_RULE_LENGTH)) {
      throw usageError('check', [{ path: '--rule', message: `must be 1-${MAX_RULE_LENGTH} characters` }]);
    }
    const g = ctx.globals(cmd);
    // An explicit gate token wins; otherwise a CI job's ID token makes this a workload check.
    const idToken = g.token ? undefined : ctx.env.BREAKGLASS_ID_TOKEN?.trim() || undefined;
    const context = flags.context ? parseContext(flags.context) : undefined;
    let input: { kind: 'workload'; body: WorkloadCheckInput } | { kind: 'token'; body: CheckInput };
    if (idToken) {
      const subject = flags.subject ? parseScopeFlag(flags.subject, '--subject') : undefined;
      input = { kind: 'workload', body: validateFlags(WorkloadCheckInputSchema, { gate: flags.gate, subject, context }, 'check', { gate: '--gate', subject: '--subject', context: '--context' }) };
    } else {
      if (!flags.subject) throw usageError('check', [{ path: '--subject', message: "required (e.g. --subject repo=payments-api,branch=main), unless the job's OIDC ID token is in BREAKGLASS_ID_TOKEN" }]);
      input = {
        kind: 'token',
        body: validateFlags(CheckInputSchema, { gate: flags.gate, subject: parseScopeFlag(flags.subject, '--subject'), context }, 'check', {
          gate: '--gate',
          subject: '--subject',
          context: '--context',
        }),
      };
    }
    // A bad --store or a missing token is a usage error (exit 2); anything the store could
    // not or would not answer fails closed: verdict block, exit 1, saying why.
    const client = idToken
      ? new StoreClient({ baseUrl: g.storeUrl, token: idToken, timeoutMs: g.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, fetchImpl: nodeFetch })
      : ctx.client(cmd, { defaultTimeoutMs: DEFAULT_CHECK_TIMEOUT_MS });
    // Credentials first: no token and no sign-in is the caller's mistake (exit 2), not the store's.
    await client.prepare();
    let result: CheckResult | FailClosedResult;
    try {
      // The check routes alone (not the whole contract table): a gate's cold start.
      result = await (input.kind === 'workload' ? client.callRoute('workloadCheck', CHECK_ROUTES.workloadCheck, { body: input.body }) : client.callRoute('check', CHECK_ROUTES.check, { body: input.body }));
    } catch (error) {
      result = failClosed(input.body, error);
    }
    ctx.exitCode = result.verdict === 'warn' ? EXIT_OK : EXIT_REFUSED;
    // The link goes to the store this command asked: the one the requester can reach too.
    const scope = linkScope(result);
    const output: CheckOutput = {
      ...result,
      requestUrl: result.verdict === 'block' && scope ? requestLink(g.storeUrl, { gate: input.body.gate, scope, rule: flags.rule?.trim(), context: input.body.context }) : null,
    };
    if (flags.dotenv) await writeFile(flags.dotenv, dotenv(output), { mode: 0o644 });
    ctx.emit(cmd, output, () => describe(output));
  });
}

/**
 * The verdict for later CI steps, one KEY=value per line with no quoting (GitLab's dotenv
 * reports take values as they are); newlines would end a value, so none is written.
 */
function dotenv(output: CheckOutput): string {
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

function requestCommandFor(input: CheckInput | WorkloadCheckInput): string | null {
  if (!input.subject) return null;
  return `breakglass request --gate ${shellQuote(input.gate)} --scope ${shellQuote(formatScope(input.subject))} --reason "<what is broken and why the gate must be bypassed>" --severity sev3 --ttl 1h`;
}

function failClosed(input: CheckInput | WorkloadCheckInput, error: unknown): FailClosedResult {
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
    subject: input.subject ?? {},
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

function describe(result: CheckOutput): string {
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
