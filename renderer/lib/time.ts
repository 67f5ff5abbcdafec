/** Display helpers for server (UTC) timestamps. Times come from the server clock; we only format. */

const pad = (n: number) => String(n).padStart(2, '0');

/** "2026-11-26 14:03:12 UTC": exact, unambiguous, sortable. Used wherever precision matters (expiry). */
export function formatUtc(iso: string | number | Date): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** Store timestamps (ISO 8601, UTC) inside the store's prose, e.g. a review timeline's "active until …". */
const ISO_INSTANT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z\b/g;

/** The store's text with each ISO instant in it written as formatUtc writes it; nothing else changes. */
export function withReadableTimes(text: string): string {
  return text.replace(ISO_INSTANT, (iso) => formatUtc(iso));
}

/** "14:03 local" companion text so approvers in other zones do not have to convert. */
export function formatLocalTime(iso: string | number | Date): string {
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())} local`;
}

/** Compact elapsed time: "42s", "7m", "2h 05m", "3d 4h". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad(m % 60)}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

/** "3m ago" / "in 4m". */
export function formatRelative(iso: string, now: number): string {
  const delta = new Date(iso).getTime() - now;
  return delta >= 0 ? `in ${formatAge(delta)}` : `${formatAge(-delta)} ago`;
}

/** "2026-11-26 15:03:12 local (Europe/Berlin)": the same instant on the approver's own clock, with the zone named. */
export function formatLocal(iso: string | number | Date): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} local${zone ? ` (${zone})` : ''}`;
}
