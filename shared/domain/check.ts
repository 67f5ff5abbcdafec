import { z } from 'zod';
import { GateKindSchema, PrincipalNameSchema, ScopeSchema, SlugSchema, TimestampSchema } from './common';
import { MAX_CONTEXT_KEY_LENGTH, MAX_CONTEXT_VALUE_LENGTH } from './patterns';
import { textField } from './text-hygiene';

export { MAX_CONTEXT_KEY_LENGTH, MAX_CONTEXT_VALUE_LENGTH };
export { linkScope } from './check-fast';

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
