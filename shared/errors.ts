import { z } from 'zod';
import { friendlyMessage } from './zod-messages';

/**
 * The one error shape that crosses every boundary: HTTP response bodies, IPC results and
 * `--json` CLI output. Errors thrown through Electron's ipcMain.handle keep only `message`,
 * so boundaries return this as data instead of relying on thrown objects.
 */
export const ErrorCodeSchema = z.enum([
  'invalid_input', // 400: a field failed validation; see fieldErrors
  'unauthenticated', // 401: missing, unknown, expired or revoked token
  'forbidden', // 403: authenticated, but the role or a separation-of-duties rule says no
  'not_found', // 404
  'illegal_transition', // 409: the request's state does not allow this action; see currentState
  'conflict', // 409: e.g. a replayed decision bundle, a duplicate enrollment
  'payload_too_large', // 413
  'unsupported_media_type', // 415
  'store_unreachable', // client side: the grant store could not be reached
  'verification_failed', // a signature, proof or checkpoint did not verify
  'unavailable', // 503: e.g. no OS keychain; the message says what to do
  'internal', // 500
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const FieldErrorSchema = z.object({
  /** Dotted path of the offending field, e.g. `scope.branch` or `tiers.critical.approvals`. */
  path: z.string(),
  message: z.string(),
});
export type FieldError = z.infer<typeof FieldErrorSchema>;

export const AppErrorBodySchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  fieldErrors: z.array(FieldErrorSchema).optional(),
  /** Set on illegal_transition: the state the target is actually in. */
  currentState: z.string().optional(),
});
export type AppErrorBody = z.infer<typeof AppErrorBodySchema>;

/** HTTP body of every non-2xx response: `{ "error": AppErrorBody }`. */
export const ErrorResponseSchema = z.object({ error: AppErrorBodySchema });

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  illegal_transition: 409,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  store_unreachable: 503,
  verification_failed: 422,
  unavailable: 503,
  internal: 500,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly fieldErrors?: FieldError[];
  readonly currentState?: string;
  /**
   * Set on `unavailable` when the condition is passing (the store shedding load): how many
   * seconds to wait before retrying. HTTP sends it as the Retry-After header, not in the body.
   */
  readonly retryAfterS?: number;

  constructor(code: ErrorCode, message: string, extra: { fieldErrors?: FieldError[]; currentState?: string; retryAfterS?: number } = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    if (extra.fieldErrors) this.fieldErrors = extra.fieldErrors;
    if (extra.currentState) this.currentState = extra.currentState;
    if (extra.retryAfterS !== undefined) this.retryAfterS = extra.retryAfterS;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }

  toBody(): AppErrorBody {
    const body: AppErrorBody = { code: this.code, message: this.message };
    if (this.fieldErrors) body.fieldErrors = this.fieldErrors;
    if (this.currentState) body.currentState = this.currentState;
    return body;
  }

  static fromBody(body: AppErrorBody): AppError {
    return new AppError(body.code, body.message, { fieldErrors: body.fieldErrors, currentState: body.currentState });
  }
}

/**
 * Turn a zod failure into field errors with dotted paths ("" for the root). An unknown field
 * gets its own path (`scope.extra`), so a client can point at the offending key. zod's default
 * messages become ones a person can act on (zod-messages.ts: "must be one of: a, b").
 */
export function fieldErrorsFromZod(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) {
      return issue.keys.map((key) => ({ path: [...base, key].join('.'), message: `unknown field "${key}"` }));
    }
    return [{ path: base.join('.'), message: friendlyMessage(issue) }];
  });
}

/** Parse `input` with `schema` or throw an invalid_input AppError naming every bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fieldErrors = fieldErrorsFromZod(result.error);
  const summary = fieldErrors.map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ');
  throw new AppError('invalid_input', `invalid ${what}: ${summary}`, { fieldErrors });
}

/**
 * Any thrown value as an AppError: an AppError as is; anything else is `internal`, described by
 * `internalMessage` (default: "internal error: <message>"). Each boundary picks what an unknown
 * failure may say: the store never leaks it to a client ("see the store log"), the console tells
 * its own renderer, the CLI prints the stack for a bug report.
 */
export function toAppError(error: unknown, internalMessage: (error: unknown) => string = (e) => `internal error: ${e instanceof Error ? e.message : String(e)}`): AppError {
  if (error instanceof AppError) return error;
  return new AppError('internal', internalMessage(error));
}
