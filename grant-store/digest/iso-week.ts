import { AppError } from '../../shared/errors';
import { instantOfWallTime, wallTimeAt } from './zoned-time';

/**
 * ISO 8601 weeks (Monday to Sunday; week 1 is the week with the year's first Thursday, so
 * 2026-12-31 can be in 2026-W53 and 2027-01-01 in 2026-W53 too), laid on the wall clock of a time
 * zone: the digest for 2026-W48 in Europe/Berlin covers Monday 00:00 to the next Monday 00:00
 * Berlin time, whatever the daylight-saving offset.
 */

export interface IsoWeek {
  year: number;
  week: number;
}

export interface CalendarDate {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
}

const DAY_MS = 86_400_000;
export const ISO_WEEK_PATTERN = /^(\d{4})-W(\d{2})$/;

/** Day of the week, Monday = 0 ... Sunday = 6. */
function isoWeekday(date: CalendarDate): number {
  return (new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 6) % 7;
}

function addDays(date: CalendarDate, days: number): CalendarDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day) + days * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 52 or 53: a year has 53 ISO weeks when it starts on a Thursday, or on a Wednesday in a leap year. */
export function weeksInIsoYear(year: number): number {
  const jan1 = isoWeekday({ year, month: 1, day: 1 });
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return jan1 === 3 || (leap && jan1 === 2) ? 53 : 52;
}

export function isoWeekOfDate(date: CalendarDate): IsoWeek {
  const thursday = addDays(date, 3 - isoWeekday(date));
  const jan1 = Date.UTC(thursday.year, 0, 1);
  const week = Math.floor((Date.UTC(thursday.year, thursday.month - 1, thursday.day) - jan1) / (7 * DAY_MS)) + 1;
  return { year: thursday.year, week };
}

export function mondayOfIsoWeek(w: IsoWeek): CalendarDate {
  const jan4: CalendarDate = { year: w.year, month: 1, day: 4 };
  return addDays(jan4, -isoWeekday(jan4) + (w.week - 1) * 7);
}

export function formatIsoWeek(w: IsoWeek): string {
  return `${String(w.year).padStart(4, '0')}-W${String(w.week).padStart(2, '0')}`;
}

/** Parse `2026-W48`; a week the year does not have (2026-W53, 2026-W00) is an error naming `field`. */
export function parseIsoWeek(text: string, field = 'week'): IsoWeek {
  const m = ISO_WEEK_PATTERN.exec(text);
  if (!m) throw new AppError('invalid_input', `${field}: "${text}" is not an ISO week like 2026-W48`, { fieldErrors: [{ path: field, message: 'must be an ISO week like 2026-W48' }] });
  const w = { year: Number(m[1]), week: Number(m[2]) };
  const max = weeksInIsoYear(w.year);
  if (w.week < 1 || w.week > max) {
    throw new AppError('invalid_input', `${field}: ${w.year} has ISO weeks 01 to ${max}, not ${m[2]}`, { fieldErrors: [{ path: field, message: `${w.year} has ISO weeks 01-${max}` }] });
  }
  return w;
}

export function shiftIsoWeek(w: IsoWeek, weeks: number): IsoWeek {
  return isoWeekOfDate(addDays(mondayOfIsoWeek(w), weeks * 7));
}

/** [from, to) of the week on the wall clock of `timeZone`, as UTC instants (ms). */
export function isoWeekBounds(w: IsoWeek, timeZone: string): { from: number; to: number } {
  const monday = mondayOfIsoWeek(w);
  const next = addDays(monday, 7);
  return {
    from: instantOfWallTime({ ...monday, hour: 0, minute: 0 }, timeZone),
    to: instantOfWallTime({ ...next, hour: 0, minute: 0 }, timeZone),
  };
}

/** The ISO week that contains instant `atMs` on the wall clock of `timeZone`. */
export function isoWeekAt(atMs: number, timeZone: string): IsoWeek {
  const w = wallTimeAt(atMs, timeZone);
  return isoWeekOfDate({ year: w.year, month: w.month, day: w.day });
}

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface WeeklySchedule {
  weekday: Weekday;
  hour: number;
  minute: number;
  timeZone: string;
}

/** When the digest is sent in ISO week `w`: the schedule's weekday, hour and minute on that week's wall clock. */
export function sendTimeInWeek(w: IsoWeek, schedule: WeeklySchedule): number {
  const day = addDays(mondayOfIsoWeek(w), WEEKDAYS.indexOf(schedule.weekday));
  return instantOfWallTime({ ...day, hour: schedule.hour, minute: schedule.minute }, schedule.timeZone);
}

/**
 * The latest scheduled send at or before `nowMs`, and the week it reports on: the last complete
 * ISO week before the week of the send (a Monday 08:00 send reports on the week that just ended).
 */
export function latestSend(nowMs: number, schedule: WeeklySchedule): { sendAt: number; week: IsoWeek } {
  let sendWeek = isoWeekAt(nowMs, schedule.timeZone);
  let sendAt = sendTimeInWeek(sendWeek, schedule);
  if (sendAt > nowMs) {
    sendWeek = shiftIsoWeek(sendWeek, -1);
    sendAt = sendTimeInWeek(sendWeek, schedule);
  }
  return { sendAt, week: shiftIsoWeek(sendWeek, -1) };
}

/** The first scheduled send strictly after `nowMs`. */
export function nextSend(nowMs: number, schedule: WeeklySchedule): { sendAt: number; week: IsoWeek } {
  const { sendAt } = latestSend(nowMs, schedule);
  const sendWeek = shiftIsoWeek(isoWeekAt(sendAt, schedule.timeZone), 1);
  return { sendAt: sendTimeInWeek(sendWeek, schedule), week: shiftIsoWeek(sendWeek, -1) };
}
