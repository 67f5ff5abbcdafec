import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How each incident source proves a webhook is its own. All comparisons are constant-time and
 * run over the raw body bytes exactly as received (never a re-serialised parse).
 */

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** PagerDuty signs with every current secret during a rotation: `v1=<hex>,v1=<hex>`. */
export const PAGERDUTY_SIGNATURE_HEADER = 'x-pagerduty-signature';
/** Longest X-PagerDuty-Signature we parse (a handful of signatures). */
const MAX_SIGNATURE_HEADER = 2048;

/**
 * PagerDuty v3: `X-PagerDuty-Signature` holds one or more comma-separated `v1=` signatures, each
 * the hex HMAC-SHA256 of the raw body under one signing secret. Valid when any v1 signature
 * matches any of our secrets (the current one, or the previous one during a rotation).
 */
export function verifyPagerDutySignature(raw: Buffer, header: string | undefined, secrets: readonly string[]): boolean {
  if (!header || header.length > MAX_SIGNATURE_HEADER) return false;
  const given = header
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='));
  if (given.length === 0) return false;
  let ok = false;
  for (const secret of secrets) {
    const expected = `v1=${createHmac('sha256', secret).update(raw).digest('hex')}`;
    for (const signature of given) ok = safeEqual(expected, signature) || ok;
  }
  return ok;
}

/** Opsgenie's default header for the shared token (configurable per source). */
export const OPSGENIE_DEFAULT_HEADER = 'x-breakglass-token';

/**
 * Opsgenie's outgoing webhooks are not signed; the strongest proof its integration can carry is
 * a long random token in a custom header, compared in constant time. (A token, unlike an HMAC,
 * does not bind the body: the docs say so and recommend HTTPS and Opsgenie's published egress
 * addresses at the proxy.) `Bearer <token>` is accepted as well.
 */
export function verifySharedToken(given: string | undefined, secrets: readonly string[]): boolean {
  if (!given) return false;
  const token = given.replace(/^Bearer\s+/i, '').trim();
  let ok = false;
  for (const secret of secrets) ok = safeEqual(secret, token) || ok;
  return ok;
}

/** The generic incident webhook signs like the store's own outgoing webhooks. */
export const GENERIC_SIGNATURE_HEADER = 'x-breakglass-signature';
export const GENERIC_TIMESTAMP_HEADER = 'x-breakglass-timestamp';
/** A generic webhook's timestamp must be this close to the store's clock. */
export const GENERIC_TOLERANCE_SECONDS = 300;

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`, over the raw bytes. */
export function signGenericWebhook(secret: string, timestamp: number, raw: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest('hex')}`;
}

/**
 * The generic webhook: `X-Breakglass-Signature` as signGenericWebhook with the unix-seconds
 * timestamp of `X-Breakglass-Timestamp`, which must be within GENERIC_TOLERANCE_SECONDS of the
 * store's clock, so a captured delivery cannot be replayed later under a new timestamp (the
 * scheme of the store's own outgoing webhooks, and of Stripe and Slack).
 */
export function verifyGenericSignature(raw: Buffer, timestamp: string | undefined, signature: string | undefined, secrets: readonly string[], nowSeconds: number): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > GENERIC_TOLERANCE_SECONDS) return false;
  let ok = false;
  for (const secret of secrets) ok = safeEqual(signGenericWebhook(secret, Number(timestamp), raw), signature) || ok;
  return ok;
}
