// The CLI's defaults, apart from context.ts (which brings the HTTP client and its schemas) so
// that `breakglass check`'s fast path (fast-check.ts) uses the same ones without them.

export const DEFAULT_STORE_URL = 'http://127.0.0.1:7410';
/** How long a verb waits for the store; `check` waits less because a gate must not hang CI. */
export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_CHECK_TIMEOUT_MS = 3_000;
