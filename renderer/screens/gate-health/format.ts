/** Display helpers for the gate-health figures (fractions from the store are 0-1, durations in ms). */

export function formatPercent(fraction: number | null): string {
  if (fraction === null) return '—';
  return `${Math.round(fraction * 1000) / 10}%`;
}

/** "14m", "3h 05m", "2d 04h". */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${String(hours % 24).padStart(2, '0')}h`;
}

/** Distinct, colour-blind-friendly series colours (Okabe-Ito), one per gate in chart order. */
export const SERIES_COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
