import { z } from 'zod';
import { PrincipalNameSchema, RoleSchema, TimestampSchema } from './common';
import { IssuerUrlSchema, WorkloadFormatSchema } from './policy-identity';

/** POST /v1/sessions: exchange an ID token from the organisation's IdP for a short-lived store session. */
export const SessionCreateInputSchema = z.strictObject({
  idToken: z.string().min(1, 'an ID token from the identity provider').max(16 * 1024),
});
export type SessionCreateInput = z.infer<typeof SessionCreateInputSchema>;

/** A store session as its holder sees it: who the IdP says they are, and until when. */
export const SessionInfoSchema = z.strictObject({
  id: z.string().regex(/^ses_[0-9a-z]{16,32}$/),
  principal: PrincipalNameSchema,
  roles: z.array(RoleSchema),
  team: z.string().nullable(),
  approverGroups: z.array(z.string()),
  issuer: z.string(),
  createdAt: TimestampSchema,
  expiresAt: TimestampSchema,
});
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

/** Returned once: the store keeps only a hash of `session`. */
export const SessionCreatedSchema = z.strictObject({ session: z.string(), info: SessionInfoSchema });
export type SessionCreated = z.infer<typeof SessionCreatedSchema>;

/** GET /v1/auth/config (no authentication): how to sign in to this store, and which CI tokens it takes. */
export const AuthConfigSchema = z.strictObject({
  oidc: z.strictObject({ issuer: IssuerUrlSchema, clientId: z.string(), scopes: z.array(z.string()) }).nullable(),
  workloads: z.array(z.strictObject({ issuer: IssuerUrlSchema, audience: z.string(), format: WorkloadFormatSchema })),
});
export type AuthConfig = z.infer<typeof AuthConfigSchema>;
