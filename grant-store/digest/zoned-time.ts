/**
 * Wall-clock time in an IANA time zone, from the platform's time zone database (Intl), so a
 * schedule of "Monday 08:00 Europe/Berlin" stays at 08:00 local across daylight-saving changes.
 */

export interface WallTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the platform knows this IANA zone name. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall time at instant `atMs` in `timeZone`. */
export function wallTimeAt(atMs: number, timeZone: string): WallTime & { second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(atMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
}

/** Offset of `timeZone` from UTC at instant `atMs`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(atMs: number, timeZone: string): number {
  const w = wallTimeAt(atMs, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(atMs / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `timeZone` shows `wall`. A wall time that does not
 * exist (skipped by a spring-forward change, e.g. 02:30 on the night clocks jump 02:00 → 03:00)
 * resolves to the same distance after the gap (03:30), the way cron-like schedulers run a job
 * that fell into the gap; a wall time that exists twice (fall back) resolves to its first
 * occurrence, so a schedule fires once.
 */
export function instantOfWallTime(wall: WallTime, timeZone: string): number {
  const naive = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  // The offset can differ by at most one DST change within a day either side of `naive`.
  const before = zoneOffsetMs(naive - 86_400_000, timeZone);
  const after = zoneOffsetMs(naive + 86_400_000, timeZone);
  const candidates = [...new Set([before, after])].map((offset) => naive - offset).filter((at) => {
    const w = wallTimeAt(at, timeZone);
    return w.year === wall.year && w.month === wall.month && w.day === wall.day && w.hour === wall.hour && w.minute === wall.minute;
  });
  if (candidates.length > 0) return Math.min(...candidates);
  // In a gap: interpret with the offset in force before the change, which lands after the gap.
  return naive - before;
}
