import { z } from 'zod';

/**
 * The `digest:` section of the policy: when the weekly digest for leadership goes out and where
 * to. Webhooks receive it when they list the `weekly_digest` event (see `webhooks:`); email goes
 * through SMTP. Secrets (SMTP user and password) come from the environment, never from the file.
 */

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export const WeekdaySchema = z.enum(WEEKDAYS);

/** A name the platform's time zone database knows (Europe/Berlin, America/New_York, UTC). */
export const TimeZoneSchema = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Berlin or America/New_York');

const EnvNameSchema = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name like BREAKGLASS_SMTP_PASSWORD');
const HostSchema = z.string().regex(/^[A-Za-z0-9.-]{1,253}$|^\[[0-9a-fA-F:]+\]$/, 'must be a host name or an IP address');

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

export const DigestScheduleSchema = z.strictObject({
  weekday: WeekdaySchema,
  hour: z.number().int().min(0).max(23),
  minute: z.number().int().min(0).max(59).default(0),
  /** Weeks run Monday 00:00 to Monday 00:00 on this zone's wall clock; the send time follows its DST changes. */
  timeZone: TimeZoneSchema,
});
export type DigestSchedule = z.infer<typeof DigestScheduleSchema>;

export const SmtpSchema = z.strictObject({
  host: HostSchema,
  port: z.number().int().min(1).max(65_535).default(587),
  /**
   * `starttls` (default): plain connection upgraded with STARTTLS, refused if the server does not
   * offer it; `implicit`: TLS from the first byte (port 465); `none`: no TLS at all (only for a
   * relay on the same host).
   */
  tls: z.enum(['starttls', 'implicit', 'none']).default('starttls'),
  userEnv: EnvNameSchema.optional(),
  passwordEnv: EnvNameSchema.optional(),
});
export type SmtpConfig = z.infer<typeof SmtpSchema>;

export const DigestEmailSchema = z.strictObject({
  from: z.email(),
  to: z.array(z.email()).min(1, 'the digest needs at least one recipient'),
  smtp: SmtpSchema,
});

export const DigestPolicySchema = z
  .strictObject({
    schedule: DigestScheduleSchema,
    email: DigestEmailSchema.optional(),
    /** Where the digest links to (the console or a dashboard); shown in every channel. */
    link: z.url({ protocol: /^https$/ }).optional(),
  })
  .superRefine((digest, ctx) => {
    const smtp = digest.email?.smtp;
    if (smtp && smtp.tls === 'none' && !LOOPBACK_HOST.test(smtp.host)) {
      ctx.addIssue({ code: 'custom', path: ['email', 'smtp', 'tls'], message: `tls: none sends the digest (and any SMTP password) in clear text: only allowed for a relay on this host (localhost, 127.0.0.1, [::1]), not ${smtp.host}` });
    }
    if (smtp && Boolean(smtp.userEnv) !== Boolean(smtp.passwordEnv)) {
      ctx.addIssue({ code: 'custom', path: ['email', 'smtp', smtp.userEnv ? 'passwordEnv' : 'userEnv'], message: 'SMTP authentication needs both userEnv and passwordEnv' });
    }
  });
export type DigestPolicy = z.infer<typeof DigestPolicySchema>;
