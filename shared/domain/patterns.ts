/**
 * The patterns and limits of the domain's identifiers, apart from their zod schemas
 * (common.ts, check.ts) so that code which must not load zod (the gate's `breakglass check`
 * fast path, the check hot path's precompiled validators) uses the very same rules.
 */

/** Gate, tier, team, group ids: lowercase slugs. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** A principal's name: 1-64 characters, letters, digits, . _ @ -. Spelled without flags: OpenAPI (JSON Schema) patterns carry none. */
export const PRINCIPAL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export const SCOPE_KEY_PATTERN = /^[a-z][a-z0-9_.-]{0,31}$/;
/**
 * Scope values in plain printable ASCII without spaces, commas or "=": what the gate-check hot
 * path accepts without running the schema (shared/domain/check-fast.ts). Anything else
 * (non-ASCII included) goes through ScopeValueSchema, which applies the text rule.
 */
export const SCOPE_VALUE_PATTERN = /^[\x21-\x2b\x2d-\x3c\x3e-\x7e]+$/;
export const MAX_SCOPE_VALUE_LENGTH = 256;
export const MAX_SCOPE_ATTRIBUTES = 16;

/** A check's CI context: key and value limits. */
export const MAX_CONTEXT_KEY_LENGTH = 64;
export const MAX_CONTEXT_VALUE_LENGTH = 512;

/** UTC timestamp from the server clock, ISO 8601 with milliseconds and a Z. */
export const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** The last few `YYYY-MM-DDTHH:MM:SS` seen to round-trip (an entry's time and its expiry alternate). */
const recentRealSeconds: string[] = ['', '', '', ''];
let nextRecent = 0;

/** `value` is a real instant: Date reads it and gives the same text back (no month 13, no 25 o'clock). */
export function isRealInstant(value: string): boolean {
  // A verifier checks two timestamps per ledger entry, mostly in seconds it has just seen: any
  // milliseconds on a second that round-tripped round-trip too (Date parse + format was half
  // of the entry check). TIMESTAMP_PATTERN is the 4-digit-year form toISOString writes.
  if (value.length === 24 && TIMESTAMP_PATTERN.test(value)) {
    const second = value.slice(0, 19);
    if (recentRealSeconds.includes(second)) return true;
    const real = roundTrips(value);
    if (real) recentRealSeconds[nextRecent++ % recentRealSeconds.length] = second;
    return real;
  }
  return roundTrips(value);
}

function roundTrips(value: string): boolean {
  const ms = Date.parse(value);
  return Number.isFinite(ms) && new Date(ms).toISOString() === value;
}
