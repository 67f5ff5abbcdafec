import type { ErrorCode } from '../../shared/errors';

/** Exit codes every verb follows (README "Exit codes"), as gh and kubectl users expect. */
export const EXIT_OK = 0;
/** Refused, blocked, not found, verification failed, store unreachable. */
export const EXIT_REFUSED = 1;
/** Bad usage or invalid input: nothing was sent or written. */
export const EXIT_USAGE = 2;

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['invalid_input', 'payload_too_large', 'unsupported_media_type']);

/** Invalid input (ours or the store's verdict on it) is a usage error; everything else is a refusal. */
export function exitCodeForError(code: ErrorCode): number {
  return USAGE_CODES.has(code) ? EXIT_USAGE : EXIT_REFUSED;
}
