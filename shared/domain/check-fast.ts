import type { CheckInput, CheckResult } from './check';
import type { Scope } from './common';
import {
  isRealInstant,
  MAX_CONTEXT_KEY_LENGTH,
  MAX_CONTEXT_VALUE_LENGTH,
  MAX_SCOPE_ATTRIBUTES,
  MAX_SCOPE_VALUE_LENGTH,
  PRINCIPAL_NAME_PATTERN,
  SCOPE_KEY_PATTERN,
  SCOPE_VALUE_PATTERN,
  SLUG_PATTERN,
  TIMESTAMP_PATTERN,
} from './patterns';
import type { WorkloadCheckInput } from './workload-check';

/**
 * Precompiled validators for the gate check, without zod: the store's hot path runs them on
 * every check (zod costs a few microseconds per call there), and the CLI's `breakglass check`
 * fast path runs them instead of loading zod at all (a gate's cold start).
 *
 * Each accepts only what its schema (CheckInputSchema, WorkloadCheckInputSchema,
 * CheckResultSchema in check.ts / workload-check.ts) certainly accepts, using the schema's own
 * patterns and limits (patterns.ts), and returns the value the schema would return; anything
 * else, every invalid value included, is `undefined` and goes through the schema, so the rule
 * and its error messages live once, in the schema. Length limits are checked in UTF-16 units,
 * which never exceed zod's code points: a string over a limit in units is left to the schema.
 * Tests (test/unit/grant-store/checks/check-input.test.ts, test/unit/shared/domain/
 * check-fast.test.ts) hold each to its schema's verdict and value over many generated inputs.
 */

/** `input` when it is certainly a valid CheckInput (as a plain JSON body is), else undefined. */
export function validCheckInput(input: unknown): CheckInput | undefined {
  if (!isPlainData(input)) return undefined;
  let keys = 0;
  for (const key in input) {
    if (key !== 'gate' && key !== 'subject' && key !== 'context') return undefined;
    keys++;
  }
  const { gate, subject, context } = input as { gate?: unknown; subject?: unknown; context?: unknown };
  if (typeof gate !== 'string' || !SLUG_PATTERN.test(gate)) return undefined;
  if (!isPlainData(subject) || !validScope(subject)) return undefined;
  if ('context' in input) {
    if (!isPlainData(context) || !validContext(context)) return undefined;
  } else if (keys !== 2) {
    return undefined;
  }
  return input as CheckInput;
}

/** `input` when it is certainly a valid WorkloadCheckInput (gate; subject and context optional), else undefined. */
export function validWorkloadCheckInput(input: unknown): WorkloadCheckInput | undefined {
  if (!isPlainData(input)) return undefined;
  for (const key in input) {
    if (key !== 'gate' && key !== 'subject' && key !== 'context') return undefined;
  }
  const { gate, subject, context } = input as { gate?: unknown; subject?: unknown; context?: unknown };
  if (typeof gate !== 'string' || !SLUG_PATTERN.test(gate)) return undefined;
  if ('subject' in input && (!isPlainData(subject) || !validScope(subject))) return undefined;
  if ('context' in input && (!isPlainData(context) || !validContext(context))) return undefined;
  return input as WorkloadCheckInput;
}

const RESULT_KEYS: ReadonlySet<string> = new Set(['verdict', 'gate', 'subject', 'message', 'requestCommand', 'gateKind', 'bypassable', 'requestScope', 'bypass', 'checkedAt']);
const BYPASS_KEYS: ReadonlySet<string> = new Set(['id', 'requestId', 'approvers', 'expiresAt', 'evaluationSeq']);

/**
 * A store's answer to a check (parsed JSON) when it is certainly a valid CheckResult, as
 * CheckResultSchema would return it (its keys in the schema's order), else undefined.
 */
export function validCheckResult(value: unknown): CheckResult | undefined {
  if (!isPlainData(value)) return undefined;
  for (const key in value) if (!RESULT_KEYS.has(key)) return undefined;
  const v = value as Record<string, unknown>;
  if (v.verdict !== 'block' && v.verdict !== 'warn') return undefined;
  if (typeof v.gate !== 'string' || !SLUG_PATTERN.test(v.gate)) return undefined;
  if (!isPlainData(v.subject) || !validScope(v.subject)) return undefined;
  if (typeof v.message !== 'string') return undefined;
  if (v.requestCommand !== null && typeof v.requestCommand !== 'string') return undefined;
  if ('gateKind' in v && v.gateKind !== 'slow' && v.gateKind !== 'safety') return undefined;
  if ('bypassable' in v && typeof v.bypassable !== 'boolean') return undefined;
  if ('requestScope' in v && v.requestScope !== null && (!isPlainData(v.requestScope) || !validScope(v.requestScope))) return undefined;
  if (!('bypass' in v) || (v.bypass !== null && !validBypass(v.bypass))) return undefined;
  if (!validTimestamp(v.checkedAt)) return undefined;
  // zod's strict object answers a new object with the shape's keys in the shape's order.
  const result: Record<string, unknown> = { verdict: v.verdict, gate: v.gate, subject: { ...v.subject }, message: v.message, requestCommand: v.requestCommand };
  if ('gateKind' in v) result.gateKind = v.gateKind;
  if ('bypassable' in v) result.bypassable = v.bypassable;
  if ('requestScope' in v) result.requestScope = v.requestScope === null ? null : { ...(v.requestScope as Scope) };
  const b = v.bypass as Record<string, unknown> | null;
  result.bypass = b === null ? null : { id: b.id, requestId: b.requestId, approvers: [...(b.approvers as string[])], expiresAt: b.expiresAt, evaluationSeq: b.evaluationSeq };
  result.checkedAt = v.checkedAt;
  return result as CheckResult;
}

function validBypass(value: unknown): boolean {
  if (!isPlainData(value)) return false;
  let keys = 0;
  for (const key in value) {
    if (!BYPASS_KEYS.has(key)) return false;
    keys++;
  }
  const { id, requestId, approvers, expiresAt, evaluationSeq } = value;
  if (keys !== BYPASS_KEYS.size || typeof id !== 'string' || typeof requestId !== 'string') return false;
  if (!Array.isArray(approvers) || Object.getPrototypeOf(approvers) !== Array.prototype) return false;
  for (let i = 0; i < approvers.length; i++) {
    const name: unknown = approvers[i];
    if (!(i in approvers) || typeof name !== 'string' || !PRINCIPAL_NAME_PATTERN.test(name)) return false;
  }
  return validTimestamp(expiresAt) && typeof evaluationSeq === 'number' && Number.isSafeInteger(evaluationSeq) && evaluationSeq >= 0 && !Object.is(evaluationSeq, -0);
}

function validTimestamp(value: unknown): boolean {
  return typeof value === 'string' && TIMESTAMP_PATTERN.test(value) && isRealInstant(value);
}

/**
 * The scope a request link for a block answer carries: the store's requestScope (the gate's
 * declared keys), none when the store says no bypass can be requested, else (an older store, a
 * fail-closed answer the store never gave) the subject when it has attributes.
 */
export function linkScope(result: Pick<CheckResult, 'subject' | 'requestScope'>): Scope | undefined {
  if (result.requestScope !== undefined) return result.requestScope ?? undefined;
  return Object.keys(result.subject).length > 0 ? result.subject : undefined;
}

/**
 * An object zod reads the same way JSON.parse builds it: plain prototype, `constructor` not
 * an own key, and only enumerable string keys (zod's record walks symbols and skips
 * non-enumerable keys; those cases are left to the schema).
 */
function isPlainData(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  if (Object.prototype.hasOwnProperty.call(value, 'constructor')) return false;
  return Reflect.ownKeys(value).length === Object.keys(value).length;
}

function validScope(scope: Record<string, unknown>): boolean {
  let count = 0;
  for (const key in scope) {
    const value = scope[key];
    if (!SCOPE_KEY_PATTERN.test(key)) return false;
    if (typeof value !== 'string' || value.length < 1 || value.length > MAX_SCOPE_VALUE_LENGTH || !SCOPE_VALUE_PATTERN.test(value)) return false;
    count++;
  }
  return count >= 1 && count <= MAX_SCOPE_ATTRIBUTES;
}

/** Printable ASCII (space included): certainly clean under the text rule and already NFC. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function validContext(context: Record<string, unknown>): boolean {
  for (const key in context) {
    const value = context[key];
    if (key === '__proto__' || key.length > MAX_CONTEXT_KEY_LENGTH || !PRINTABLE_ASCII.test(key)) return false;
    if (typeof value !== 'string' || value.length > MAX_CONTEXT_VALUE_LENGTH || !PRINTABLE_ASCII.test(value)) return false;
  }
  return true;
}
