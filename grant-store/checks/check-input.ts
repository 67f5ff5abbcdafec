import { CheckInputSchema, MAX_CONTEXT_KEY_LENGTH, MAX_CONTEXT_VALUE_LENGTH, type CheckInput } from '../../shared/domain/check';
import { MAX_SCOPE_ATTRIBUTES, MAX_SCOPE_VALUE_LENGTH, SCOPE_KEY_PATTERN, SCOPE_VALUE_PATTERN, SLUG_PATTERN } from '../../shared/domain/common';
import { parseOrThrow } from '../../shared/errors';

/**
 * CheckInput validation for the gate-check hot path. zod costs a few microseconds per check
 * (a fresh output object per record, issue arrays, refinements), a sizeable share of a check
 * answered from memory. `validCheckInput` accepts only input that CheckInputSchema certainly
 * accepts, using the schema's own patterns and limits, and returns it as is; anything else
 * (including every invalid input) goes through the schema, so errors and field paths are
 * exactly the schema's. Length limits are checked in UTF-16 units, which never exceed zod's
 * code points: a string over a limit in units is left to the schema. test/unit/grant-store/
 * checks/check-input.test.ts holds the two to the same verdict and the same value over many
 * generated inputs.
 */
export function parseCheckInput(input: unknown): CheckInput {
  return validCheckInput(input) ?? parseOrThrow(CheckInputSchema, input, 'check');
}

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
