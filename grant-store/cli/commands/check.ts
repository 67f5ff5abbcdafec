import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CheckInputSchema, type CheckInput, type CheckResult } from '../../../shared/domain/check';
import { WorkloadCheckInputSchema, type WorkloadCheckInput } from '../../../shared/domain/workload-check';
import { MAX_RULE_LENGTH } from '../../../shared/gates/link-text';
import { DEFAULT_CHECK_TIMEOUT_MS, type CliContext } from '../context';
import { CHECK_ROUTES } from '../../../shared/http/check-routes';
import { nodeFetch } from '../../../shared/node/http/node-fetch';
import { StoreClient } from '../../../shared/node/http/store-client';
import { EXIT_OK, EXIT_REFUSED } from '../exit-codes';
import { contextFlag } from '../flag-syntax';
import { withExamples } from '../help';
import { collect, parseScopeFlag, usageError, validateFlags } from '../validate';
import { failClosed } from './check-answer';
import { checkOutput, describeCheck, dotenv, type FailClosedResult } from './check-output';

export type { FailClosedResult };

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
    const context = flags.context ? contextFlag(flags.context) : undefined;
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
    const output = checkOutput(result, input.body, g.storeUrl, flags.rule);
    if (flags.dotenv) await writeFile(flags.dotenv, dotenv(output), { mode: 0o644 });
    ctx.emit(cmd, output, () => describeCheck(output));
  });
}
