import { z } from 'zod';
import { CheckInputSchema } from './check';
import { ScopeSchema } from './common';

/**
 * POST /v1/checks/workload: a gate's check authenticated by its CI's OIDC ID token. The subject
 * comes from the token's claims; `subject` may repeat derived attributes (same values) and add
 * the ones the policy's principal rule allows (`subjectKeys`).
 */
export const WorkloadCheckInputSchema = z.strictObject({
  gate: CheckInputSchema.shape.gate,
  subject: ScopeSchema.optional(),
  context: CheckInputSchema.shape.context,
});
export type WorkloadCheckInput = z.infer<typeof WorkloadCheckInputSchema>;
