import { z } from 'zod';
import {
  isRealInstant,
  MAX_SCOPE_ATTRIBUTES,
  MAX_SCOPE_VALUE_LENGTH,
  PRINCIPAL_NAME_PATTERN,
  SCOPE_KEY_PATTERN,
  SCOPE_VALUE_PATTERN,
  SLUG_PATTERN,
  TIMESTAMP_PATTERN,
} from './patterns';
import { textField } from './text-hygiene';

export { isRealInstant, MAX_SCOPE_ATTRIBUTES, MAX_SCOPE_VALUE_LENGTH, SCOPE_KEY_PATTERN, SCOPE_VALUE_PATTERN, SLUG_PATTERN, TIMESTAMP_PATTERN };

/** A named identity. Never a shared account: one token belongs to exactly one principal. */
export const PrincipalNameSchema = z
  .string()
  .regex(PRINCIPAL_NAME_PATTERN, 'must be 1-64 characters: letters, digits, . _ @ -');
export type PrincipalName = z.infer<typeof PrincipalNameSchema>;

export const RoleSchema = z.enum(['requester', 'approver', 'gate', 'admin', 'auditor']);
export type Role = z.infer<typeof RoleSchema>;

/** Gate, tier, team, group ids: lowercase slugs (SLUG_PATTERN, patterns.ts). */
export const SlugSchema = z.string().regex(SLUG_PATTERN, 'must be a lowercase slug (a-z, 0-9, . _ -), 1-64 characters');

export const SeveritySchema = z.enum(['sev1', 'sev2', 'sev3', 'sev4']);
export type Severity = z.infer<typeof SeveritySchema>;
/** Severities for which an incident reference is mandatory. */
export const INCIDENT_REQUIRED_SEVERITIES: readonly Severity[] = ['sev1', 'sev2'];

export const GateKindSchema = z.enum(['slow', 'safety']);
export type GateKind = z.infer<typeof GateKindSchema>;

/**
 * A scope (on a request) or a subject (on a gate check): key=value attributes such as
 * repo=payments-api, branch=main, namespace=pay, workload=api, digest=sha256:....
 * A bypass matches a subject when every scope attribute equals the subject's.
 */
export const ScopeKeySchema = z.string().regex(SCOPE_KEY_PATTERN, 'scope keys are lowercase, 1-32 characters');
/** A scope value: an identifier under the text rule (no invisible or spacing characters), NFC. */
export const ScopeValueSchema = textField({ kind: 'identifier', max: MAX_SCOPE_VALUE_LENGTH, min: 1, minMessage: 'scope values cannot be empty' }).regex(
  // `*`, not `+`: an empty value is already refused by the length rule above; one message is enough.
  /^[^,=]*$/,
  'scope values cannot contain commas or "="',
);
export const ScopeSchema = z
  .record(ScopeKeySchema, ScopeValueSchema)
  .refine((s) => Object.keys(s).length >= 1, 'a scope needs at least one attribute (e.g. repo=payments-api)')
  .refine((s) => Object.keys(s).length <= MAX_SCOPE_ATTRIBUTES, `a scope has at most ${MAX_SCOPE_ATTRIBUTES} attributes`);
export type Scope = z.infer<typeof ScopeSchema>;

/** UTC timestamp from the server clock, ISO 8601 with milliseconds and a Z (TIMESTAMP_PATTERN). */
/**
 * A real instant: the pattern, and a round trip through Date that gives the same text back, so
 * 2026-13-45T25:61:61.000Z (which the pattern alone would pass) is refused instead of
 * reaching a Date as NaN.
 */
export const TimestampSchema = z
  .string()
  .regex(TIMESTAMP_PATTERN, 'must be a UTC timestamp like 2026-06-22T03:14:07.000Z')
  .refine((value) => !TIMESTAMP_PATTERN.test(value) || isRealInstant(value), { message: 'is not a real date and time (check the month, day, hour, minute and second)' });
/** A calendar day (UTC) like 2027-03-31 that exists. */
export const DaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2027-03-31')
  .refine((value) => !/^\d{4}-\d{2}-\d{2}$/.test(value) || isRealInstant(`${value}T00:00:00.000Z`), { message: 'is not a real date (check the month and day)' });
export type Timestamp = z.infer<typeof TimestampSchema>;

export const RequestIdSchema = z.string().regex(/^req_[0-9a-z]{16,32}$/, 'must be a request id like req_…');
export const ReviewIdSchema = z.string().regex(/^rev_[0-9a-z]{16,32}$/, 'must be a review id like rev_…');
export const BypassIdSchema = z.string().regex(/^byp_[0-9a-z]{16,32}$/, 'must be a bypass id like byp_…');

/** Incident references such as INC-1190, PD-Q1W2E3, SEV-2026-042. */
export const IncidentRefSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:#/-]{1,63}$/, 'must look like an incident reference, e.g. INC-1190');

/** Minimum length of a bypass reason: long enough that the requester has to think. */
export const MIN_REASON_LENGTH = 20;
export const MAX_REASON_LENGTH = 2000;
export const ReasonSchema = textField({
  kind: 'long',
  min: MIN_REASON_LENGTH,
  max: MAX_REASON_LENGTH,
  minMessage: `the reason must be at least ${MIN_REASON_LENGTH} characters: say what is broken and why the gate must be bypassed`,
});

export const MAX_COMMENT_LENGTH = 2000;
/** Free-text comments, replies and questions (newlines allowed). */
export const CommentSchema = textField({ kind: 'long', max: MAX_COMMENT_LENGTH });

/** Hex SHA-256 digest with its algorithm prefix. */
export const DigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>');
