import { z } from 'zod';
import { GateKindSchema, PrincipalNameSchema, ScopeSchema, SlugSchema, TimestampSchema, type Scope } from './common';
import { textField } from './text-hygiene';

export const MAX_CONTEXT_KEY_LENGTH = 64;
export const MAX_CONTEXT_VALUE_LENGTH = 512;

/** A gate asks: is there an active bypass for this gate on this subject? */
export const CheckInputSchema = z.strictObject({
  gate: SlugSchema,
  subject: ScopeSchema,
  /** Optional CI/admission context recorded with an evaluation under bypass (job URL, commit...). */
  context: z.record(textField({ kind: 'line', max: MAX_CONTEXT_KEY_LENGTH, trim: false }), textField({ kind: 'line', max: MAX_CONTEXT_VALUE_LENGTH, trim: false })).optional(),
});
export type CheckInput = z.infer<typeof CheckInputSchema>;

export const CheckResultSchema = z.strictObject({
  verdict: z.enum(['block', 'warn']),
  gate: SlugSchema,
  subject: ScopeSchema,
  /** Human message: names the gate and, on block, the exact command to request a bypass. */
  message: z.string(),
  /** On block: the `breakglass request ...` command line to ask for a bypass (null when none can be requested). */
  requestCommand: z.string().nullable(),
  /** The gate's kind (`safety` gates are kept: see the message for what opens one). */
  gateKind: GateKindSchema.optional(),
  /** false when no bypass can open this gate (`bypass: never`) or this subject can never be under one (it lacks a scope key). */
  bypassable: z.boolean().optional(),
  /** On block: the scope a request for this subject names (the gate's scopeKeys only); null when none can be requested. */
  requestScope: ScopeSchema.nullable().optional(),
  bypass: z
    .strictObject({
      id: z.string(),
      requestId: z.string(),
      approvers: z.array(PrincipalNameSchema),
      expiresAt: TimestampSchema,
      /** Ledger seq of the evaluation_under_bypass entry. */
      evaluationSeq: z.number().int().nonnegative(),
    })
    .nullable(),
  checkedAt: TimestampSchema,
});
export type CheckResult = z.infer<typeof CheckResultSchema>;

/**
 * The scope a request link for a block answer carries: the store's requestScope (the gate's
 * declared keys), none when the store says no bypass can be requested, else (an older store, a
 * fail-closed answer the store never gave) the subject when it has attributes.
 */
export function linkScope(result: Pick<CheckResult, 'subject' | 'requestScope'>): Scope | undefined {
  if (result.requestScope !== undefined) return result.requestScope ?? undefined;
  return Object.keys(result.subject).length > 0 ? result.subject : undefined;
}
