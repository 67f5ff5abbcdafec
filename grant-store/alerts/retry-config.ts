import { AppError } from '../../shared/errors';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './outbox';

/** The variables, what each sets, and the largest value that still makes sense. */
const RETRY_VARIABLES = {
  BREAKGLASS_ALERT_MAX_ATTEMPTS: { field: 'maxAttempts', max: 100 },
  BREAKGLASS_ALERT_RETRY_BASE_MS: { field: 'baseDelayMs', max: 24 * 3_600_000 },
  BREAKGLASS_ALERT_RETRY_MAX_MS: { field: 'maxDelayMs', max: 7 * 24 * 3_600_000 },
} as const satisfies Record<string, { field: keyof RetryPolicy; max: number }>;

/**
 * Retry tuning from the environment (operators with a slow receiver; tests that cannot wait
 * minutes): BREAKGLASS_ALERT_RETRY_BASE_MS, BREAKGLASS_ALERT_RETRY_MAX_MS, BREAKGLASS_ALERT_MAX_ATTEMPTS.
 * Read once by startGrantStore into the store's config. Unset keeps the default; a value that is
 * set but not a whole number in range refuses the start, naming the variable (a typo must not
 * quietly turn into the default the operator meant to change).
 */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  const problems: { path: string; message: string }[] = [];
  for (const [name, { field, max }] of Object.entries(RETRY_VARIABLES)) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      problems.push({ path: name, message: `expected a whole number from 1 to ${max}, got ${JSON.stringify(text)}` });
      continue;
    }
    policy[field] = value;
  }
  if (policy.baseDelayMs > policy.maxDelayMs && problems.length === 0) {
    problems.push({ path: 'BREAKGLASS_ALERT_RETRY_BASE_MS', message: `the first retry delay (${policy.baseDelayMs} ms) is longer than the cap BREAKGLASS_ALERT_RETRY_MAX_MS (${policy.maxDelayMs} ms)` });
  }
  if (problems.length > 0) {
    throw new AppError('invalid_input', `alert retry settings: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { fieldErrors: problems });
  }
  return policy;
}
