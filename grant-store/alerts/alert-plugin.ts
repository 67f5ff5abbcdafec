import type { RoutePlugin } from '../http/route-context';
import { findingsReport } from '../reports/findings-report';
import { loadReportInput } from '../reports/report-source';
import { AlertDispatcher } from './alert-dispatcher';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './outbox';

/**
 * Retry tuning from the environment (operators with a slow receiver; tests that cannot wait
 * minutes): BREAKGLASS_ALERT_RETRY_BASE_MS, BREAKGLASS_ALERT_RETRY_MAX_MS, BREAKGLASS_ALERT_MAX_ATTEMPTS.
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

/**
 * Runs the alert dispatcher for the life of the HTTP app: starts when the app is ready, stops
 * (pending deliveries stay in the outbox) when it closes, before the store closes.
 */
export const registerAlertJob: RoutePlugin = (app, ctx) => {
  const { store, policies, clock } = ctx.deps;
  const dispatcher = new AlertDispatcher({
    store,
    policy: () => policies.policy,
    clock,
    findings: async () => findingsReport(await loadReportInput(store, policies.policy, clock(), { withEvaluations: false })).findings,
    retry: ctx.alertRetry,
    env: ctx.env,
    log: (message) => ctx.logger.warn(message),
  });
  app.addHook('onReady', async () => dispatcher.start());
  app.addHook('onClose', async () => dispatcher.stop());
};
