import { z } from 'zod';
import { PrincipalNameSchema } from './common';

/**
 * The `emergency:` section: sealed emergency credentials, the break-glass-without-an-approver
 * path for disaster recovery. Credentials themselves are sealed by an admin (`breakglass admin
 * emergency seal`), stored only as a hash and recorded in the ledger; this section says who else
 * is paged on a use and how many reviewers must sign off afterwards.
 */
export const EmergencyPolicySchema = z.strictObject({
  /**
   * Principals told at once of every use, besides every tier's notify list and every approver
   * (e.g. the whole security team).
   */
  notify: z.array(PrincipalNameSchema).default([]),
  /** Sign-offs the mandatory review needs, each from a distinct reviewer outside the user's team. */
  reviewSignoffs: z.number().int().min(2, 'an emergency use is reviewed by at least two people').max(5).default(2),
});
export type EmergencyPolicy = z.infer<typeof EmergencyPolicySchema>;
