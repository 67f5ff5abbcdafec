import type { FieldError } from '../../shared/errors';

// The syntax of the CLI's flag values, without zod: validate.ts checks the values with the
// schemas; `breakglass check`'s fast path (fast-check.ts) reads the same syntax before it
// decides whether it can answer without them.

/**
 * `repo=payments-api,branch=main` (the flag may be repeated; the parts are merged) as
 * attributes, before their values are checked: syntax errors name the flag.
 */
export function scopeFlagAttributes(parts: string[] | string | undefined, flag: string): { scope: Record<string, string>; errors: FieldError[] } {
  const list = parts === undefined ? [] : Array.isArray(parts) ? parts : [parts];
  const scope: Record<string, string> = {};
  const errors: FieldError[] = [];
  for (const item of list.flatMap((p) => p.split(','))) {
    const text = item.trim();
    if (text === '') continue;
    const eq = text.indexOf('=');
    if (eq <= 0) {
      errors.push({ path: flag, message: `"${text}" is not key=value (e.g. ${flag} repo=payments-api,branch=main)` });
      continue;
    }
    const key = text.slice(0, eq);
    if (key in scope) errors.push({ path: `${flag} ${key}`, message: `given twice` });
    scope[key] = text.slice(eq + 1);
  }
  return { scope, errors };
}

/** `--context job=https://ci/1,commit=abc` → record (values may contain anything but commas). */
export function contextFlag(parts: string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const item of parts.flatMap((p) => p.split(','))) {
    const eq = item.indexOf('=');
    if (eq > 0) context[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
    else if (item.trim() !== '') context[item.trim()] = '';
  }
  return context;
}

const DURATION = /^(\d+)(ms|s|m)?$/;
const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** `3s`, `500ms`, `1m` or a bare number of seconds, in ms; undefined when it is none of those. */
export function durationFlagMs(value: string): number | undefined {
  const match = DURATION.exec(value.trim());
  const ms = match ? Number(match[1]) * DURATION_UNIT_MS[(match[2] ?? 's') as keyof typeof DURATION_UNIT_MS] : NaN;
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
