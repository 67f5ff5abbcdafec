import { z } from 'zod';
import type { WitnessTimers } from './ledger/checkpoint-witnesses';
import { AppError, fieldErrorsFromZod } from '../shared/errors';
import type { SafetyGateRelaxation } from '../shared/policy/safety-gates';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './alerts/outbox';
import type { StoreLogger } from './logger';
import { ENTRY_BINDING_VERSIONS } from '../shared/ledger/entry-binding';

/**
 * A secret by the environment variable name the policy gives it (webhook HMAC keys, SMTP
 * credentials, incident sources' signing secrets): its value, or undefined when the variable
 * is unset or empty. The only way anything below the composition root sees the environment.
 */
export type SecretLookup = (name: string) => string | undefined;

/** How the policy names a secret (shared/domain/policy*.ts): anything else is not looked up. */
const SECRET_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * The secret lookup over `env`, built once by the composition root (startGrantStore). It
 * answers names shaped like the policy's secret names, and nothing else of the environment.
 */
export function secretLookup(env: Readonly<Record<string, string | undefined>>): SecretLookup {
  return (name) => {
    if (!SECRET_NAME.test(name)) return undefined;
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
}

/** An optional whole-number setting from the environment: unset or empty keeps the default. */
function wholeNumberVariable(max: number) {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text === '') return undefined;
      const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
      if (!Number.isSafeInteger(value) || value < 1 || value > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from 1 to ${max}, got ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return value;
    });
}

/**
 * The variables the store itself reads (secrets are looked up by the names the policy gives,
 * see SecretLookup): alert retry tuning for operators with a slow receiver and tests that cannot
 * wait minutes, which entry bindings to write during a rolling upgrade
 * (BREAKGLASS_ENTRY_BINDINGS, docs/scaling.md), and NODE_ENV. A value that is set but wrong refuses the start, naming the
 * variable (a typo must not quietly turn into the default the operator meant to change).
 */
export const StoreEnvSchema = z
  .object({
    BREAKGLASS_ALERT_MAX_ATTEMPTS: wholeNumberVariable(100),
    BREAKGLASS_ALERT_RETRY_BASE_MS: wholeNumberVariable(24 * 3_600_000),
    BREAKGLASS_ALERT_RETRY_MAX_MS: wholeNumberVariable(7 * 24 * 3_600_000),
    BREAKGLASS_ENTRY_BINDINGS: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined || text === '') return 'v2' as const;
        const version = ENTRY_BINDING_VERSIONS.find((v) => v === text.trim());
        if (!version) {
          ctx.addIssue({ code: 'custom', message: `expected v1 (during a rolling upgrade from a release before 2026-12-01) or v2, got ${JSON.stringify(text)}` });
          return z.NEVER;
        }
        return version;
      }),
    NODE_ENV: z.string().optional(),
  })
  .transform((vars, ctx) => {
    const alertRetry: RetryPolicy = {
      maxAttempts: vars.BREAKGLASS_ALERT_MAX_ATTEMPTS ?? DEFAULT_RETRY_POLICY.maxAttempts,
      baseDelayMs: vars.BREAKGLASS_ALERT_RETRY_BASE_MS ?? DEFAULT_RETRY_POLICY.baseDelayMs,
      maxDelayMs: vars.BREAKGLASS_ALERT_RETRY_MAX_MS ?? DEFAULT_RETRY_POLICY.maxDelayMs,
    };
    if (alertRetry.baseDelayMs > alertRetry.maxDelayMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['BREAKGLASS_ALERT_RETRY_BASE_MS'],
        message: `the first retry delay (${alertRetry.baseDelayMs} ms) is longer than the cap BREAKGLASS_ALERT_RETRY_MAX_MS (${alertRetry.maxDelayMs} ms)`,
      });
      return z.NEVER;
    }
    return { alertRetry, entryBindings: vars.BREAKGLASS_ENTRY_BINDINGS, production: vars.NODE_ENV === 'production' };
  });
export type StoreEnv = z.output<typeof StoreEnvSchema>;

/** The store's settings from its environment, or an invalid_input AppError naming each bad variable (`serve` exits 2). */
export function storeEnv(env: Readonly<Record<string, string | undefined>>): StoreEnv {
  const parsed = StoreEnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = fieldErrorsFromZod(parsed.error);
  throw new AppError('invalid_input', `the grant store's environment: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { fieldErrors: problems });
}

const positiveWhole = z.number().int().positive();

/**
 * Everything the grant store's services need, settled before any is built (startGrantStore
 * makes it from its options and the environment it read once, grantStoreConfig in
 * http/server.ts): composeGrantStore validates it and builds from it alone. Nothing below reads
 * process.env; the secrets the policy names are reached through `secrets` only.
 */
export const GrantStoreConfigSchema = z.strictObject({
  dataDir: z.string().min(1, 'a data directory is needed'),
  policyPath: z.string().min(1),
  /** PostgreSQL; the embedded SQLite database in dataDir when absent. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  logger: z.custom<StoreLogger>((v) => typeof v === 'object' && v !== null && typeof (v as StoreLogger).warn === 'function', 'must be a pino logger'),
  clock: z.custom<() => Date>((v) => typeof v === 'function', 'must be a function giving the time'),
  sweepIntervalMs: positiveWhole,
  /** How often the digest scheduler looks at the clock (undefined: its default, once a minute). */
  digestCheckIntervalMs: positiveWhole.optional(),
  /** The secrets the policy names (webhook HMAC keys, SMTP, incident sources), by name. */
  secrets: z.custom<SecretLookup>((v) => typeof v === 'function', 'must be a secret lookup (secretLookup(env))'),
  /** Which entry bindings the store writes (v1 only during a rolling upgrade; it reads both). */
  entryBindings: z.enum(ENTRY_BINDING_VERSIONS),
  /** Alert delivery retries. */
  alertRetry: z.strictObject({ maxAttempts: positiveWhole, baseDelayMs: positiveWhole, maxDelayMs: positiveWhole }),
  /** `npm start` only: safety gates whose tier takes keys without attestation (shared/policy/safety-gates.ts). */
  demoSafetyRelaxation: z.custom<SafetyGateRelaxation>((v) => typeof v === 'object' && v !== null).optional(),
  /** Timers of the witness pushes' retries and quorum grace period (absent: real timers); tests moving an injected clock pass theirs. */
  witnessTimers: z.custom<WitnessTimers>((v) => typeof v === 'object' && v !== null && typeof (v as WitnessTimers).after === 'function', 'must have after(ms, fn)').optional(),
});
export type GrantStoreConfig = z.output<typeof GrantStoreConfigSchema>;

/** `config` checked against GrantStoreConfigSchema, or an invalid_input AppError naming each bad field. */
export function validGrantStoreConfig(config: GrantStoreConfig): GrantStoreConfig {
  const parsed = GrantStoreConfigSchema.safeParse(config);
  if (parsed.success) return parsed.data;
  const problems = fieldErrorsFromZod(parsed.error);
  throw new AppError('invalid_input', `grant store config: ${problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')}`, { fieldErrors: problems });
}
