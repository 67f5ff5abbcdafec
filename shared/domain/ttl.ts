import { z } from 'zod';

/** A time-to-live such as 15m, 1h, 4h, 24h, 7d. */
export const TtlSchema = z.string().regex(/^[1-9][0-9]{0,3}(m|h|d)$/, 'must be a duration like 15m, 1h, 4h, 24h or 7d');
export type Ttl = z.infer<typeof TtlSchema>;

/** The default short fixed list of TTL choices a requester picks from. */
export const DEFAULT_TTL_CHOICES: readonly Ttl[] = ['15m', '1h', '4h', '24h', '7d'];

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function ttlToMs(ttl: Ttl): number {
  const match = /^([1-9][0-9]{0,3})(m|h|d)$/.exec(ttl);
  if (!match) throw new Error(`not a TTL: ${ttl}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

export { formatRemaining } from './format-remaining';
