import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';

/**
 * The GitHub Actions runner's contract with a JavaScript action, written out (no @actions/*
 * dependency, so the bundle is ours to read): inputs arrive as INPUT_<NAME> variables, outputs
 * and the job summary are files the runner names (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY),
 * annotations and masks are workflow commands on stdout, and the job's OIDC ID token comes from
 * ACTIONS_ID_TOKEN_REQUEST_URL with ACTIONS_ID_TOKEN_REQUEST_TOKEN.
 */
export interface Runner {
  env: NodeJS.ProcessEnv;
  /** Workflow commands go to stdout, where the runner reads them. */
  write: (text: string) => void;
}

/** `with: { fail-on-error: x }` arrives as INPUT_FAIL-ON-ERROR (spaces become _, case upper), trimmed. */
export function input(runner: Runner, name: string): string {
  return (runner.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

/** %, CR and LF would end or bend a workflow command: the runner decodes these escapes. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::error title=...::message` (also warning, notice). */
export function annotate(runner: Runner, level: 'error' | 'warning' | 'notice', message: string, title?: string): void {
  const props = title ? ` title=${escapeProperty(title)}` : '';
  runner.write(`::${level}${props}::${escapeData(message)}\n`);
}

/** The runner replaces this value with *** in every log line from now on. */
export function mask(runner: Runner, secret: string): void {
  runner.write(`::add-mask::${escapeData(secret)}\n`);
}

/**
 * Append `name` to the GITHUB_OUTPUT file with a heredoc delimiter the value cannot contain
 * (the runner's multi-line format). Without the file (an old runner) there is nowhere to write.
 */
export function setOutput(runner: Runner, name: string, value: string): void {
  const file = runner.env.GITHUB_OUTPUT;
  if (!file) return;
  let delimiter = `ghadelimiter_${randomUUID()}`;
  while (value.includes(delimiter)) delimiter = `ghadelimiter_${randomUUID()}`;
  appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`, 'utf8');
}

/** Append Markdown to the job summary (GITHUB_STEP_SUMMARY), shown on the run's page. */
export function appendSummary(runner: Runner, markdown: string): void {
  const file = runner.env.GITHUB_STEP_SUMMARY;
  if (file) appendFileSync(file, markdown.endsWith('\n') ? markdown : `${markdown}\n`, 'utf8');
}

/** Why an action failed before it could ask the store: a configuration the user must fix. */
export class ActionConfigError extends Error {
  override name = 'ActionConfigError';
}

/**
 * The job's OIDC ID token for `audience`, from the runner's token endpoint. The workflow must
 * grant `permissions: id-token: write`; without it the runner sets neither variable.
 */
export async function requestIdToken(runner: Runner, audience: string, timeoutMs: number): Promise<string> {
  const url = runner.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = runner.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) {
    throw new ActionConfigError(
      'this job cannot get an OIDC ID token (ACTIONS_ID_TOKEN_REQUEST_URL is not set): add `permissions: id-token: write` to the workflow or the job, or pass a gate token in `token`',
    );
  }
  const target = new URL(url);
  target.searchParams.set('audience', audience);
  let response: Response;
  try {
    response = await fetch(target, { headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new Error(`could not get the job's OIDC ID token from ${target.origin}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`the runner refused the OIDC ID token request (HTTP ${response.status}): ${text.slice(0, 300)}`);
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || value.split('.').length !== 3) throw new Error('the runner answered the OIDC ID token request without a token');
  mask(runner, value);
  return value;
}
