import type { z } from 'zod';
import { AppError, fieldErrorsFromZod, type FieldError } from '../../shared/errors';
import { ScopeSchema, type Scope } from '../../shared/domain/common';
import { durationFlagMs, scopeFlagAttributes } from './flag-syntax';

/**
 * Maps a schema field path to the flag the user typed, so `reason: too short` reads
 * `--reason: too short` and `scope.branch: ...` reads `--scope branch: ...`.
 */
export type FlagNames = Record<string, string>;

function flagFor(path: string, flags: FlagNames): string {
  if (path in flags) return flags[path] as string;
  const [head, ...rest] = path.split('.');
  const flag = head !== undefined ? flags[head] : undefined;
  if (flag) return rest.length > 0 ? `${flag} ${rest.join('.')}` : flag;
  return path || '(input)';
}

/** Rewrite field paths (ours or the store's) into the flags the user typed. */
export function toFlagErrors(fieldErrors: FieldError[], flags: FlagNames): FieldError[] {
  return fieldErrors.map((f) => ({ path: flagFor(f.path, flags), message: f.message }));
}

export function usageError(what: string, fieldErrors: FieldError[]): AppError {
  const summary = fieldErrors.map((f) => `${f.path}: ${f.message}`).join('; ');
  return new AppError('invalid_input', `invalid ${what}: ${summary}`, { fieldErrors });
}

/**
 * Validate flags with the shared zod schema before any network call. Throws an invalid_input
 * AppError (exit 2) whose field paths are the flags.
 */
export function validateFlags<T extends z.ZodType>(schema: T, input: unknown, what: string, flags: FlagNames): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw usageError(what, toFlagErrors(fieldErrorsFromZod(result.error), flags));
}

/** Re-throw a store invalid_input error with the flag names in place of the body's field paths. */
export function withFlagNames(error: unknown, flags: FlagNames): unknown {
  if (error instanceof AppError && error.code === 'invalid_input' && error.fieldErrors && error.fieldErrors.length > 0) {
    const fieldErrors = toFlagErrors(error.fieldErrors, flags);
    const summary = fieldErrors.map((f) => `${f.path}: ${f.message}`).join('; ');
    const prefix = error.message.split(':')[0] ?? '';
    // "invalid request: --ttl: ..." but not "X: --ttl: X, details" when the field already says X.
    const message = fieldErrors.some((f) => f.message.startsWith(prefix)) ? summary : `${prefix}: ${summary}`;
    return new AppError('invalid_input', message, { fieldErrors });
  }
  return error;
}

/**
 * Parse `repo=payments-api,branch=main` (the flag may be repeated; the parts are merged).
 * Syntax errors name the flag; the values are then checked with ScopeSchema.
 */
export function parseScopeFlag(parts: string[] | string | undefined, flag: string): Scope {
  const { scope, errors } = scopeFlagAttributes(parts, flag);
  if (errors.length > 0) throw usageError(flag.replace(/^--/, ''), errors);
  const result = ScopeSchema.safeParse(scope);
  if (!result.success) throw usageError(flag.replace(/^--/, ''), toFlagErrors(fieldErrorsFromZod(result.error), { '': flag, ...Object.fromEntries(Object.keys(scope).map((k) => [k, `${flag} ${k}`])) }));
  return result.data;
}

/** Commander collector for repeatable flags. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `3s`, `500ms`, `1m` or a bare number of seconds. */
export function parseDurationFlag(value: string, flag: string): number {
  const ms = durationFlagMs(value);
  if (ms === undefined) throw usageError(flag.replace(/^--/, ''), [{ path: flag, message: `"${value}" is not a duration like 3s, 500ms or 1m` }]);
  return ms;
}
