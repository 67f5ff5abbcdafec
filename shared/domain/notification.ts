import { z } from 'zod';
import { TimestampSchema } from './common';

/**
 * "Told": a per-principal notification feed derived from the ledger (GET /v1/notifications).
 * The requester is told of every decision on their request and of its activation, expiry,
 * revocation and lapse; the principals on a critical tier's `notify` list (e.g. the CISO) are
 * told of every request on that tier and of its activation. The same ledger entries reach
 * them live on GET /v1/events, and webhooks carry them out of the store.
 */
export const NotificationKindSchema = z.enum(['decision', 'bypass_activated', 'bypass_expired', 'bypass_revoked', 'request_lapsed', 'critical_request', 'review_opened', 'emergency_used', 'emergency_refused']);
export type NotificationKind = z.infer<typeof NotificationKindSchema>;

export const NotificationSchema = z.strictObject({
  /** Ledger seq of the entry it comes from (resume with ?since=seq). */
  seq: z.number().int().nonnegative(),
  time: TimestampSchema,
  kind: NotificationKindSchema,
  /**
   * Why this principal is told: their own request, a tier's notify list, or `emergency`: an
   * emergency credential was used or refused, which every approver and everyone on every
   * notify list is told of at once (the console shows a banner until the bypass ends).
   */
  because: z.enum(['requester', 'notify_list', 'emergency']),
  /** The request (req_…), or for a refused emergency use the credential (emc_…) or `emergency:unknown`. */
  requestId: z.string(),
  /** For emergency_used: when the bypass it opened ends (the console's banner counts down to it). */
  expiresAt: TimestampSchema.nullable().optional(),
  gate: z.string().nullable(),
  /** For decisions: approve | deny | request_info | revoke, and who decided. */
  decision: z.string().nullable(),
  actor: z.string(),
  text: z.string(),
});
export type Notification = z.infer<typeof NotificationSchema>;

export const NotificationsQuerySchema = z.strictObject({
  /** Only notifications from entries after this ledger seq. */
  since: z.coerce.number().int().min(-1).default(-1),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const NotificationsResponseSchema = z.strictObject({ principal: z.string(), notifications: z.array(NotificationSchema) });
export type NotificationsResponse = z.infer<typeof NotificationsResponseSchema>;
