import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './outbox';

/**
 * Retry tuning from the environment (operators with a slow receiver; tests that cannot wait
 * minutes): BREAKGLASS_ALERT_RETRY_BASE_MS, BREAKGLASS_ALERT_RETRY_MAX_MS, BREAKGLASS_ALERT_MAX_ATTEMPTS.
 * Read once by startGrantStore into the store's config; a missing or non-positive value keeps the default.
 */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv): RetryPolicy {
  const num = (name: string, fallback: number) => {
    const text = env[name];
    const value = text === undefined ? NaN : Number(text);
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  return {
    maxAttempts: num('BREAKGLASS_ALERT_MAX_ATTEMPTS', DEFAULT_RETRY_POLICY.maxAttempts),
    baseDelayMs: num('BREAKGLASS_ALERT_RETRY_BASE_MS', DEFAULT_RETRY_POLICY.baseDelayMs),
    maxDelayMs: num('BREAKGLASS_ALERT_RETRY_MAX_MS', DEFAULT_RETRY_POLICY.maxDelayMs),
  };
}
