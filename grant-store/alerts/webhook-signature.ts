import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of a signed delivery. */
export const SIGNATURE_HEADER = 'x-breakglass-signature';
export const TIMESTAMP_HEADER = 'x-breakglass-timestamp';
export const DELIVERY_HEADER = 'x-breakglass-delivery';
export const EVENT_HEADER = 'x-breakglass-event';

/** A receiver should refuse a delivery whose timestamp is further than this from its clock (replays). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: the timestamp (unix seconds, also sent
 * in X-Breakglass-Timestamp) is inside the MAC, so an old delivery cannot be replayed with a
 * fresh timestamp (the scheme Stripe and Slack use).
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver runs: true when the signature matches and the timestamp is fresh.
 * Comparison is constant-time.
 */
export function verifyWebhookSignature(secret: string, headers: { timestamp: string | undefined; signature: string | undefined }, body: string, nowSeconds: number): boolean {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return false;
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
