import { z } from 'zod';
import { PrincipalNameSchema, RoleSchema, TimestampSchema } from './common';
import { isRealInstant, PRINCIPAL_NAME_PATTERN, TIMESTAMP_PATTERN } from './patterns';

export const LedgerEntryTypeSchema = z.enum([
  'policy_loaded',
  'principal_enrolled', // token created for a principal
  'token_revoked',
  'key_enrolled',
  'key_revoked',
  'request_created',
  'info_requested',
  'info_provided',
  'decision', // a signed approve / deny / request_info / revoke (payload: the Sigstore bundle)
  'request_cancelled',
  'request_lapsed',
  'bypass_activated',
  'evaluation_under_bypass',
  'bypass_expired',
  'bypass_revoked',
  'review_opened',
  'review_completed',
  'alert_delivered',
  'alert_failed',
  'emergency_sealed', // an admin sealed (or re-sealed) an emergency credential: only its hash is kept
  'emergency_retired', // an admin retired a sealed credential without using it
  'emergency_used', // a holder opened a bypass with a sealed credential (no approver); it is burned
  'emergency_refused', // a burned, retired or unknown credential was presented (alarm)
  'incident_event', // a verified incident webhook (PagerDuty, Opsgenie, generic) changed an incident
  'review_signed', // one sign-off on a review that needs several
  'digest_sent', // the weekly digest went out (one per week across instances)
  'session_started', // a person signed in through the IdP: principal, roles, team, approver groups for the session
  'session_ended', // a session was ended (logout) before its expiry
]);
export type LedgerEntryType = z.infer<typeof LedgerEntryTypeSchema>;

/**
 * One ledger entry: the audit record an auditor expects (who, what, when, why, which gate,
 * who approved, until when, from where). Its canonical JSON bytes are the Merkle leaf.
 *
 * Decision entries additionally carry `kind`/`apiVersion`/`spec` in the Rekor `dsse` 0.0.1
 * body shape at the top level, so the entry's canonical bytes can serve as the
 * `canonicalizedBody` of a Sigstore tlog entry (see shared/ledger).
 */
export const LedgerEntrySchema = z.looseObject({
  seq: z.number().int().nonnegative(),
  time: TimestampSchema,
  type: LedgerEntryTypeSchema,
  /** Named identity that caused the event; `system` for expiry, lapse and review opening. */
  actor: z.union([PrincipalNameSchema, z.literal('system')]),
  actorRole: z.union([RoleSchema, z.literal('system')]),
  /** What the event is about: req_…, rev_…, a principal, a key id, a policy hash. */
  target: z.string(),
  gate: z.string().nullable(),
  reason: z.string().nullable(),
  incidentRef: z.string().nullable(),
  approver: z.string().nullable(),
  expiresAt: TimestampSchema.nullable(),
  sourceAddress: z.string().nullable(),
  /** Type-specific details (scope, subject, finding, policy hash, key PEM, ...). */
  data: z.record(z.string(), z.unknown()),
});
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

const ENTRY_TYPES: ReadonlySet<string> = new Set(LedgerEntryTypeSchema.options);
const ACTOR_ROLES: ReadonlySet<string> = new Set([...RoleSchema.options, 'system']);
const NULLABLE_TEXT_FIELDS = ['target', 'gate', 'reason', 'incidentRef', 'approver', 'sourceAddress'] as const;

/**
 * `json` when it is certainly an entry LedgerEntrySchema accepts (as JSON.parse builds one),
 * else undefined: a verifier checks every entry of a ledger, and the schema's cost (a fresh
 * output object per entry, issue arrays, the timestamp refinement) was most of a verify's time
 * per entry. Uses the schema's own patterns and enums; anything it does not certainly accept
 * (every invalid entry included) is left to the schema, so errors and field paths stay the
 * schema's. test/unit/shared/domain/ledger-entry-fast.test.ts holds the two to the same verdict.
 */
export function validLedgerEntry(json: unknown, fromJsonParse = false): LedgerEntry | undefined {
  if (!isPlainData(json, fromJsonParse)) return undefined;
  const e = json as Record<string, unknown>;
  const seq = e.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  if (typeof e.type !== 'string' || !ENTRY_TYPES.has(e.type)) return undefined;
  if (typeof e.actor !== 'string' || (e.actor !== 'system' && !PRINCIPAL_NAME_PATTERN.test(e.actor))) return undefined;
  if (typeof e.actorRole !== 'string' || !ACTOR_ROLES.has(e.actorRole)) return undefined;
  if (typeof e.target !== 'string') return undefined;
  for (const field of NULLABLE_TEXT_FIELDS) {
    const value = e[field];
    if (value !== null && typeof value !== 'string') return undefined;
  }
  if (!validTimestamp(e.time)) return undefined;
  if (e.expiresAt !== null && !validTimestamp(e.expiresAt)) return undefined;
  if (!isPlainData(e.data, fromJsonParse)) return undefined;
  return json as LedgerEntry;
}

/**
 * The schema's parse for anything validLedgerEntry cannot vouch for. `fromJsonParse`: the caller
 * vouches that `json` is what JSON.parse returned (no symbol keys, every key enumerable).
 */
export function safeParseLedgerEntry(json: unknown, fromJsonParse = false): { success: true; data: LedgerEntry } | { success: false; error: z.ZodError } {
  const fast = validLedgerEntry(json, fromJsonParse);
  if (fast) return { success: true, data: fast };
  const parsed = LedgerEntrySchema.safeParse(json);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, error: parsed.error };
}

/** The `YYYY-MM-DDTHH:MM:SS` of the last value validTimestamp accepted. */
let lastRealSecond = '';

/** TimestampSchema's verdict on `value`. */
export function validTimestamp(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  // A verifier asks for every entry, nearly always in the second of the one before: the same
  // real second, a dot, three digits and Z is a real instant in TIMESTAMP_PATTERN's form (the
  // two regular expressions and isRealInstant's lookup were ~0.1 us of the ~0.17 a call).
  if (millisAfterSecond(value) >= 0 && value.slice(0, 19) === lastRealSecond) return true;
  if (!(TIMESTAMP_PATTERN.test(value) && isRealInstant(value))) return false;
  lastRealSecond = value.slice(0, 19);
  return true;
}

/**
 * The milliseconds of `time` when it is 19 characters (its second, not checked here), a dot,
 * three digits and Z (24 characters): else -1. For readers of many entry times that reuse what
 * they decided about the second of the time before (validTimestamp, the audit's EntryTimes).
 */
export function millisAfterSecond(time: string): number {
  if (time.length !== 24 || time.charCodeAt(19) !== 0x2e || time.charCodeAt(23) !== 0x5a) return -1;
  const a = time.charCodeAt(20) - 0x30;
  const b = time.charCodeAt(21) - 0x30;
  const c = time.charCodeAt(22) - 0x30;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 && c >= 0 && c <= 9 ? a * 100 + b * 10 + c : -1;
}

/**
 * An object zod reads the same way JSON.parse builds it: plain prototype, `constructor` not an
 * own key, only enumerable string keys (zod walks symbols and skips non-enumerable keys; those
 * cases are left to the schema). JSON.parse never makes a symbol or non-enumerable key, so for
 * its objects that last check (two key arrays per object, a fifth of a verifier's entry check)
 * is skipped.
 */
function isPlainData(value: unknown, fromJsonParse: boolean): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  if (Object.prototype.hasOwnProperty.call(value, 'constructor') || Object.prototype.hasOwnProperty.call(value, '__proto__')) return false;
  return fromJsonParse || Reflect.ownKeys(value).length === Object.keys(value).length;
}

/**
 * An entry the reader may not see (shared/policy/visibility.ts), served in its place: its seq and
 * its Merkle leaf hash (base64 of SHA-256(0x00 ‖ canonical entry bytes)), nothing else, not even
 * its type. The leaf is all a verifier needs to recompute every root and check every proof, so
 * the ledger stays verifiable for an approver who may not read other tiers' requests.
 */
export const RedactedLedgerEntrySchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  redacted: z.literal(true),
  leafHash: z.base64().refine((s) => s.length === 44, 'must be the base64 of a 32-byte leaf hash'),
});
export type RedactedLedgerEntry = z.infer<typeof RedactedLedgerEntrySchema>;

/** What a ledger read serves: the entry, or its redacted stand-in. */
export const ServedLedgerEntrySchema = z.union([RedactedLedgerEntrySchema, LedgerEntrySchema]);
export type ServedLedgerEntry = z.infer<typeof ServedLedgerEntrySchema>;

export function isRedactedEntry(entry: ServedLedgerEntry | LedgerEntry): entry is RedactedLedgerEntry {
  // A redacted entry has no type; a real entry always has one.
  return (entry as { redacted?: unknown }).redacted === true && !('type' in entry);
}
