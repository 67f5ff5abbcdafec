import { z } from 'zod';

/** A named identity. Never a shared account: one token belongs to exactly one principal. */
export const PrincipalNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._@-]{0,63}$/i, 'must be 1-64 characters: letters, digits, . _ @ -');
export type PrincipalName = z.infer<typeof PrincipalNameSchema>;

export const RoleSchema = z.enum(['requester', 'approver', 'gate', 'admin', 'auditor']);
export type Role = z.infer<typeof RoleSchema>;

/** Gate, tier, team, group ids: lowercase slugs. */
/** The slug pattern, shared with precompiled validators (grant-store/checks/check-input.ts). */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
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
export const SCOPE_KEY_PATTERN = /^[a-z][a-z0-9_.-]{0,31}$/;
export const SCOPE_VALUE_PATTERN = /^[^\s,=]+$/;
export const MAX_SCOPE_VALUE_LENGTH = 256;
export const MAX_SCOPE_ATTRIBUTES = 16;
export const ScopeKeySchema = z.string().regex(SCOPE_KEY_PATTERN, 'scope keys are lowercase, 1-32 characters');
export const ScopeValueSchema = z
  .string()
  .min(1, 'scope values cannot be empty')
  .max(MAX_SCOPE_VALUE_LENGTH)
  .regex(SCOPE_VALUE_PATTERN, 'scope values cannot contain spaces, commas or "="');
export const ScopeSchema = z
  .record(ScopeKeySchema, ScopeValueSchema)
  .refine((s) => Object.keys(s).length >= 1, 'a scope needs at least one attribute (e.g. repo=payments-api)')
  .refine((s) => Object.keys(s).length <= MAX_SCOPE_ATTRIBUTES, `a scope has at most ${MAX_SCOPE_ATTRIBUTES} attributes`);
export type Scope = z.infer<typeof ScopeSchema>;

/** UTC timestamp from the server clock, ISO 8601 with milliseconds and a Z. */
export const TimestampSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'must be a UTC timestamp like 2026-06-22T03:14:07.000Z');
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
export const ReasonSchema = z
  .string()
  .trim()
  .min(MIN_REASON_LENGTH, `the reason must be at least ${MIN_REASON_LENGTH} characters: say what is broken and why the gate must be bypassed`)
  .max(MAX_REASON_LENGTH);

export const CommentSchema = z.string().trim().max(2000);

/** Hex SHA-256 digest with its algorithm prefix. */
export const DigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>');
