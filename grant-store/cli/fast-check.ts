import { existsSync } from 'node:fs';
import type { CheckInput, CheckResult } from '../../shared/domain/check';
import { validCheckInput, validCheckResult, validWorkloadCheckInput } from '../../shared/domain/check-fast';
import { displayText } from '../../shared/domain/display-text';
import type { WorkloadCheckInput } from '../../shared/domain/workload-check';
import { MAX_RULE_LENGTH } from '../../shared/gates/link-text';
import { CHECK_PATHS } from '../../shared/http/check-paths';
import { oneShotHttp } from '../../shared/node/http/one-shot-http';
import type { CheckSent } from './commands/check-answer';
import { checkOutput, describeCheck, dotenv, type FailClosedResult } from './commands/check-output';
import { configPath } from './config-path';
import { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_STORE_URL } from './defaults';
import { EXIT_OK, EXIT_REFUSED } from './exit-codes';
import { contextFlag, durationFlagMs, scopeFlagAttributes } from './flag-syntax';
import { exitQuietlyOnBrokenPipe, processIO, type CliIO } from './output';
import { verbOf } from './verb';

/**
 * `breakglass check` for a gate, without commander or zod (a gate's cold start: those two are
 * most of what the full CLI loads). bin/breakglass.cjs runs this first for a `check` command
 * line, built as one CommonJS file (dist/cli/fast-check.cjs: Node sets up no ES module loader
 * for it); it answers only a command line it reads exactly as the full command does and whose
 * flags are certainly valid: the check flags and --store, --token, --timeout, --json, with the
 * store and the credentials from flags or the environment (a token, or a CI job's ID token) and
 * no config.yaml to consult. For anything else (help, a context, a saved sign-in, a flag or
 * value it does not plainly accept) it returns undefined before doing anything, and the full
 * CLI runs, with its usage errors. It sends the same request as the full command (to an http:
 * store over a bare socket, one-shot-http.ts, rather than node:http); an answer
 * that is not plainly valid (an error, an unreachable store, a body the schema must judge) is
 * read by check-answer.ts exactly as the full command reads it. It prints with the same code
 * (check-output.ts), so the two print the same; test/integration/cli/fast-check.test.ts holds
 * them to it.
 */
export async function fastCheck(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, io: CliIO = processIO): Promise<number | undefined> {
  const plan = planCheck(argv, env);
  if (!plan) return undefined;
  if (io === processIO) exitQuietlyOnBrokenPipe();
  try {
    const result = await ask(plan);
    const output = checkOutput(result, plan.body, plan.storeUrl, plan.rule);
    if (plan.dotenv) {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(plan.dotenv, dotenv(output), { mode: 0o644 });
    }
    // As CliContext.emit prints: JSON, or the human rendering with nothing a terminal would act on.
    io.stdout(plan.json ? `${JSON.stringify(output, null, 2)}\n` : displayText(describeCheck(output), 'multiline'));
    return result.verdict === 'warn' ? EXIT_OK : EXIT_REFUSED;
  } catch (error) {
    const { reportError } = await import('./main');
    return reportError(error, plan.json, io);
  }
}

interface CheckPlan {
  route: 'check' | 'workloadCheck';
  body: CheckInput | WorkloadCheckInput;
  storeUrl: string;
  /** The store's URL without trailing slashes, and the route's URL on it (as StoreClient builds them). */
  baseUrl: string;
  url: URL;
  bearer: string;
  timeoutMs: number;
  json: boolean;
  rule: string | undefined;
  dotenv: string | undefined;
}

/** Flags the fast path reads: value flags (once each, or repeatable) and the one switch. */
const VALUE_FLAGS: ReadonlySet<string> = new Set(['--gate', '--rule', '--dotenv', '--store', '--token', '--timeout']);
const REPEATABLE_FLAGS: ReadonlySet<string> = new Set(['--subject', '--context']);
/** Global options, the only ones commander takes before the verb. */
const GLOBAL_FLAGS: ReadonlySet<string> = new Set(['--store', '--token', '--timeout', '--json']);

/** What the command line asks, when the fast path can answer it; undefined otherwise. */
export function planCheck(argv: readonly string[], env: NodeJS.ProcessEnv): CheckPlan | undefined {
  if (verbOf(argv) !== 'check') return undefined;
  const single = new Map<string, string>();
  const repeated = new Map<string, string[]>();
  let json = false;
  let verbSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || arg === '--') {
      if (arg !== 'check' || verbSeen) return undefined;
      verbSeen = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (!verbSeen && !GLOBAL_FLAGS.has(name)) return undefined;
    if (name === '--json') {
      if (eq >= 0) return undefined;
      json = true;
      continue;
    }
    if (!VALUE_FLAGS.has(name) && !REPEATABLE_FLAGS.has(name)) return undefined;
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[++i];
      // A missing value, or one commander might read as an option: the full CLI decides.
      if (value === undefined || value.startsWith('-')) return undefined;
    }
    if (REPEATABLE_FLAGS.has(name)) repeated.set(name, [...(repeated.get(name) ?? []), value]);
    else if (single.has(name)) return undefined;
    else single.set(name, value);
  }
  const gate = single.get('--gate');
  if (gate === undefined) return undefined;
  const rule = single.get('--rule');
  if (rule !== undefined && (rule.trim() === '' || rule.length > MAX_RULE_LENGTH)) return undefined;

  // The store and the credentials as CliContext.globals() finds them, when no config.yaml is needed for either.
  if (env.BREAKGLASS_CONTEXT) return undefined;
  const explicitStore = single.get('--store') ?? (env.BREAKGLASS_STORE || undefined);
  const explicitToken = single.get('--token') ?? (env.BREAKGLASS_TOKEN || undefined);
  if ((explicitStore === undefined || explicitToken === undefined) && existsSync(configPath(env))) return undefined;
  const storeUrl = explicitStore ?? DEFAULT_STORE_URL;
  if (!isHttpUrl(storeUrl)) return undefined;
  const timeout = single.get('--timeout');
  const timeoutMs = timeout === undefined ? DEFAULT_CHECK_TIMEOUT_MS : durationFlagMs(timeout);
  if (timeoutMs === undefined) return undefined;
  // An explicit gate token wins; otherwise a CI job's ID token makes this a workload check.
  const idToken = explicitToken ? undefined : env.BREAKGLASS_ID_TOKEN?.trim() || undefined;
  const bearer = explicitToken ?? idToken;
  if (!bearer) return undefined;

  const subjectFlags = repeated.get('--subject');
  const contextFlags = repeated.get('--context');
  const body: Record<string, unknown> = { gate };
  if (subjectFlags) {
    const { scope, errors } = scopeFlagAttributes(subjectFlags, '--subject');
    if (errors.length > 0) return undefined;
    body.subject = scope;
  }
  if (contextFlags) body.context = contextFlag(contextFlags);
  const valid = idToken ? validWorkloadCheckInput(body) : validCheckInput(body);
  if (!valid) return undefined;
  const route = idToken ? 'workloadCheck' : 'check';
  const baseUrl = storeUrl.replace(/\/+$/, '');
  const url = urlOf(baseUrl + CHECK_PATHS[route]);
  if (!url) return undefined;
  return { route, body: valid, storeUrl, baseUrl, url, bearer, timeoutMs, json, rule, dotenv: single.get('--dotenv') };
}

function urlOf(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    // Not a URL: the full CLI says so, naming where it came from.
    return undefined;
  }
}

function isHttpUrl(text: string): boolean {
  const url = urlOf(text);
  return url?.protocol === 'http:' || url?.protocol === 'https:';
}

/** The one request (as StoreClient sends it) and the answer, read here when it is plainly valid. */
async function ask(plan: CheckPlan): Promise<CheckResult | FailClosedResult> {
  let sent: CheckSent;
  try {
    const init = {
      method: 'POST',
      headers: { accept: 'application/json', authorization: `Bearer ${plan.bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(plan.body),
      signal: AbortSignal.timeout(plan.timeoutMs),
    };
    // A bare socket for an http: store (no node:http to load); TLS through node:https for https:.
    const response = plan.url.protocol === 'http:' ? await oneShotHttp(plan.url, init) : await (await import('../../shared/node/http/node-fetch')).nodeFetch(plan.url, init);
    if (response.ok) {
      const result = validCheckResult(parseJson(await response.text()));
      if (result) return result;
    }
    sent = { response };
  } catch (error) {
    sent = { error };
  }
  const { finishCheck } = await import('./commands/check-answer');
  return finishCheck(plan.route, plan.body, plan.baseUrl, plan.timeoutMs, sent);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: check-answer.ts reports it as the full command does.
    return undefined;
  }
}
