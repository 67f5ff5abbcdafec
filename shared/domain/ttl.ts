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

/** "1h 04m 09s" style countdown text for a remaining duration. */
export function formatRemaining(ms: number): string {
  if (ms <= 0) return 'expired';
  const total = Math.floor(ms / 1000);
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${pad(h)}h ${pad(m)}m`;
  if (h > 0) return `${h}h ${pad(m)}m ${pad(s)}s`;
  return `${m}m ${pad(s)}s`;
}
