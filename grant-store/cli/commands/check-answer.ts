import type { CheckInput, CheckResult } from '../../../shared/domain/check';
import type { WorkloadCheckInput } from '../../../shared/domain/workload-check';
import { AppError } from '../../../shared/errors';
import { CHECK_ROUTES } from '../../../shared/http/check-routes';
import { answerJson, routeAnswer, unreachable } from '../../../shared/node/http/store-client';
import { requestCommandFor, type FailClosedResult } from './check-output';

/** A check that could not ask the store, or that the store refused: block (fail closed), saying why. */
export function failClosed(input: CheckInput | WorkloadCheckInput, error: unknown): FailClosedResult {
  const err = error instanceof AppError ? error : new AppError('internal', (error as Error)?.message ?? String(error));
  // The field messages often say more ("unknown gate "x" (gates: a, b)"): use them, once.
  const parts = [err.message];
  for (const { message } of err.fieldErrors ?? []) {
    if (message.includes(parts[0] as string)) parts[0] = message;
    else if (!parts.some((p) => p.includes(message))) parts.push(message);
  }
  const why = parts.join(': ');
  const unreachableStore = err.code === 'store_unreachable';
  return {
    verdict: 'block',
    gate: input.gate,
    subject: input.subject ?? {},
    message: unreachableStore
      ? `BLOCKED (fail closed): gate ${input.gate} could not be checked, so it blocks: ${why}`
      : `BLOCKED (fail closed): the store refused to check gate ${input.gate} (${err.code}): ${why}`,
    // Only worth suggesting when the gate itself is fine and the store was merely unreachable.
    requestCommand: unreachableStore ? requestCommandFor(input) : null,
    bypass: null,
    checkedAt: new Date().toISOString(),
    error: { code: err.code, message: why },
  };
}

/** What the fast path (fast-check.ts) got back for its one request: an HTTP answer, or why there was none. */
export type CheckSent = { response: Response } | { error: unknown };

/**
 * The check's answer from what the fast path got back, when it was not plainly a valid answer:
 * read exactly as StoreClient reads it (the store's error body, an unreachable store, an answer
 * the schema refuses), and failing closed as `breakglass check` does. Loaded only then, with zod.
 */
export async function finishCheck(
  route: 'check' | 'workloadCheck',
  input: CheckInput | WorkloadCheckInput,
  baseUrl: string,
  timeoutMs: number,
  sent: CheckSent,
): Promise<CheckResult | FailClosedResult> {
  const def = CHECK_ROUTES[route];
  try {
    if ('error' in sent) throw unreachable(baseUrl, sent.error, timeoutMs);
    const describe = `${def.method} ${def.path}`;
    return routeAnswer(route, def, describe, await answerJson(baseUrl, timeoutMs, describe, sent.response)) as CheckResult;
  } catch (error) {
    return failClosed(input, error);
  }
}
