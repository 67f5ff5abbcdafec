import { CheckResultSchema, linkScope, type CheckResult } from '../../shared/domain/check';
import type { Scope } from '../../shared/domain/common';
import { ErrorResponseSchema } from '../../shared/errors';
import { requestLink } from '../../shared/gates/request-link';
import { parseScopeText, scopeToText } from '../../shared/gates/scope-text';
import { ActionConfigError, annotate, appendSummary, input, requestIdToken, setOutput, type Runner } from './runner';

/** The audience the job's ID token is minted for; the store's policy names the same (identity.workloads.issuers[].audience). */
export const DEFAULT_AUDIENCE = 'breakglass';
const DEFAULT_TIMEOUT_MS = 10_000;
const DURATION = /^(\d+)(ms|s|m)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** How the step authenticates: its job's OIDC token (the store derives the subject) or a gate token. */
type Credentials = { kind: 'workload'; idToken: string } | { kind: 'token'; token: string };

interface Settings {
  store: string;
  gate: string;
  subject: Scope;
  rule: string | undefined;
  audience: string;
  timeoutMs: number;
  context: Record<string, string>;
}

/** The verdict as the step reports it: the store's, or a fail-closed block saying why. */
type Verdict = CheckResult & { error?: string };

function readSettings(runner: Runner): Settings {
  const problems: string[] = [];
  const store = input(runner, 'store');
  let storeUrl: URL | undefined;
  try {
    storeUrl = new URL(store);
  } catch {
    storeUrl = undefined;
  }
  if (!storeUrl || (storeUrl.protocol !== 'https:' && storeUrl.protocol !== 'http:')) problems.push(`store: "${store}" is not the store's URL (https://breakglass.example.com)`);
  const gate = input(runner, 'gate');
  if (gate === '') problems.push('gate: required (the gate this step enforces, e.g. container-signing)');
  const parsedSubject = parseScopeText(input(runner, 'subject'), 'subject', { allowEmpty: true });
  if ('errors' in parsedSubject) problems.push(...parsedSubject.errors.map((e) => `${e.path}: ${e.message}`));
  const timeoutText = input(runner, 'timeout');
  const match = DURATION.exec(timeoutText);
  const timeoutMs = timeoutText === '' ? DEFAULT_TIMEOUT_MS : match ? Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS] : NaN;
  if (!(timeoutMs > 0)) problems.push(`timeout: "${timeoutText}" is not a duration like 10s, 500ms or 1m`);
  const context: Record<string, string> = {};
  for (const line of input(runner, 'context').split('\n')) {
    const eq = line.indexOf('=');
    if (line.trim() === '') continue;
    if (eq <= 0) problems.push(`context: "${line.trim()}" is not key=value (one per line, e.g. ticket=https://jira.example.com/OPS-1)`);
    else context[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  if (problems.length > 0) throw new ActionConfigError(`invalid inputs: ${problems.join('; ')}`);
  return {
    store: store.replace(/\/+$/, ''),
    gate,
    subject: 'scope' in parsedSubject ? parsedSubject.scope : {},
    rule: input(runner, 'rule') || undefined,
    audience: input(runner, 'audience') || DEFAULT_AUDIENCE,
    timeoutMs,
    context: { ...runContext(runner.env), ...context },
  };
}

/** What identifies this run for the ledger and the request page: its URL, commit, workflow. */
function runContext(env: NodeJS.ProcessEnv): Record<string, string> {
  const context: Record<string, string> = {};
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID) {
    context.run = `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''}`;
  }
  const from: Record<string, string | undefined> = { commit: env.GITHUB_SHA, workflow: env.GITHUB_WORKFLOW, job: env.GITHUB_JOB, event: env.GITHUB_EVENT_NAME, actor: env.GITHUB_ACTOR };
  for (const [key, value] of Object.entries(from)) if (value) context[key] = value;
  return context;
}

/**
 * With a gate token the step must name the whole subject; by default the repository and the
 * branch or tag, read as the store reads them from a GitHub token (repo=owner/name,
 * branch=<refs/heads/...>, tag=<refs/tags/...>), and the `subject` input adds to or overrides them.
 */
function tokenSubject(env: NodeJS.ProcessEnv, given: Scope): Scope {
  const subject: Record<string, string> = {};
  if (env.GITHUB_REPOSITORY) subject.repo = env.GITHUB_REPOSITORY;
  const ref = env.GITHUB_REF ?? '';
  if (ref.startsWith('refs/heads/')) subject.branch = ref.slice('refs/heads/'.length);
  else if (ref.startsWith('refs/tags/')) subject.tag = ref.slice('refs/tags/'.length);
  return { ...subject, ...given };
}

async function credentials(runner: Runner, settings: Settings): Promise<Credentials> {
  const token = input(runner, 'token');
  if (token !== '') return { kind: 'token', token };
  return { kind: 'workload', idToken: await requestIdToken(runner, settings.audience, settings.timeoutMs) };
}

/** Ask the store. Anything but its answer (unreachable, refused, malformed) blocks: the gate fails closed. */
async function check(settings: Settings, creds: Credentials, env: NodeJS.ProcessEnv): Promise<Verdict> {
  const workload = creds.kind === 'workload';
  const subject = workload ? settings.subject : tokenSubject(env, settings.subject);
  const body: Record<string, unknown> = { gate: settings.gate, context: settings.context };
  if (!workload || Object.keys(subject).length > 0) body.subject = subject;
  const path = workload ? '/v1/checks/workload' : '/v1/checks';
  const failClosed = (why: string): Verdict => ({
    verdict: 'block',
    gate: settings.gate,
    subject,
    message: `BLOCKED (fail closed): gate ${settings.gate} could not be checked, so it blocks: ${why}`,
    requestCommand: null,
    bypass: null,
    checkedAt: new Date().toISOString(),
    error: why,
  });
  let response: Response;
  try {
    response = await fetch(`${settings.store}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${workload ? creds.idToken : creds.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } catch (error) {
    const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${settings.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(error));
    return failClosed(`cannot reach the grant store at ${settings.store}: ${why}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const parsed = ErrorResponseSchema.safeParse(json);
    if (!parsed.success) return failClosed(`the store answered HTTP ${response.status}: ${text.slice(0, 300) || '(empty body)'}`);
    const { code, message, fieldErrors } = parsed.data.error;
    const fields = (fieldErrors ?? []).filter((f) => !message.includes(f.message)).map((f) => `${f.path}: ${f.message}`);
    return failClosed(`the store refused the check (${code}): ${[message, ...fields].join('; ')}`);
  }
  const result = CheckResultSchema.safeParse(json);
  if (!result.success) return failClosed(`the store's answer is not a check result: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return result.data;
}

function summary(settings: Settings, verdict: Verdict, link: string | undefined): string {
  const rows = [
    ['gate', `\`${verdict.gate}\``],
    ['subject', `\`${scopeToText(verdict.subject) || '(derived from the job token)'}\``],
    ['store', settings.store],
  ];
  if (settings.rule) rows.push(['rule', settings.rule]);
  if (verdict.bypass) {
    rows.push(['bypass', `${verdict.bypass.id} (request ${verdict.bypass.requestId})`]);
    rows.push(['approved by', verdict.bypass.approvers.join(', ') || 'a standing scope']);
    rows.push(['expires', verdict.bypass.expiresAt]);
    rows.push(['ledger entry', String(verdict.bypass.evaluationSeq)]);
  }
  const escape = (cell: string) => cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    verdict.verdict === 'warn' ? `### ⚠️ Breakglass: \`${verdict.gate}\` passes under a bypass` : `### ⛔ Breakglass: \`${verdict.gate}\` blocked`,
    '',
    '| | |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${escape(v as string)} |`),
    '',
    escape(verdict.message),
    '',
  ];
  if (link) lines.push(`**[Request a bypass](${link})**: the request page, pre-filled with this gate, rule, scope and run.`, '');
  return lines.join('\n');
}

/**
 * The Action: read the inputs, authenticate (the job's OIDC ID token, or a gate token), ask the
 * store, then report as the runner expects: outputs, a job summary, an annotation, and the exit
 * code (1 on block, so the step fails; 0 when a bypass lets it pass with a warning).
 */
export async function runAction(runner: Runner): Promise<number> {
  let settings: Settings;
  let creds: Credentials;
  try {
    settings = readSettings(runner);
    creds = await credentials(runner, settings);
  } catch (error) {
    const message = (error as Error).message;
    annotate(runner, 'error', message, 'Breakglass: the gate could not run');
    setOutput(runner, 'verdict', 'block');
    setOutput(runner, 'message', message);
    appendSummary(runner, `### ⛔ Breakglass: the gate could not run\n\n${message}\n`);
    return 1;
  }
  const verdict = await check(settings, creds, runner.env);
  // A fail-closed block of a gate the store never answered for still deserves the way out.
  const scope = verdict.verdict === 'block' ? linkScope(verdict) : undefined;
  const link = scope ? requestLink(settings.store, { gate: verdict.gate, scope, rule: settings.rule, context: settings.context }) : undefined;
  setOutput(runner, 'verdict', verdict.verdict);
  setOutput(runner, 'message', verdict.message);
  setOutput(runner, 'subject', scopeToText(verdict.subject));
  setOutput(runner, 'bypass-id', verdict.bypass?.id ?? '');
  setOutput(runner, 'expires-at', verdict.bypass?.expiresAt ?? '');
  setOutput(runner, 'request-url', link ?? '');
  appendSummary(runner, summary(settings, verdict, link));
  if (verdict.verdict === 'warn') {
    annotate(runner, 'warning', `${verdict.message}`, `Breakglass: ${verdict.gate} passes under bypass ${verdict.bypass?.id ?? ''}`.trim());
    return 0;
  }
  annotate(runner, 'error', link ? `${verdict.message}\nRequest a bypass: ${link}` : verdict.message, `Breakglass: ${verdict.gate} blocked`);
  return 1;
}
