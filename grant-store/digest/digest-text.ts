import type { Digest } from '../../shared/domain/digest';
import type { DecisionTimeClass } from '../../shared/domain/reports';

/**
 * Wording shared by the HTML, plain-text and Slack renderings, so the three say the same thing.
 */

export function formatDay(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).format(new Date(iso));
}

/** "Mon 23 Nov 2026 to Sun 29 Nov 2026" (the week's last day, not the exclusive end). */
export function weekRange(digest: Digest): string {
  return `${formatDay(digest.from, digest.timeZone)} to ${formatDay(new Date(Date.parse(digest.to) - 1).toISOString(), digest.timeZone)}`;
}

export function pct(f: number | null): string {
  return f === null ? '-' : `${Math.round(f * 1000) / 10}%`;
}

/** 14m, 3h 05m, 2d 04h. */
export function duration(ms: number | null): string {
  if (ms === null) return '-';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${String(hours % 24).padStart(2, '0')}h`;
}

/** "+3 vs 1.5 average", "same as the 2 average". */
export function versusAverage(thisWeek: number, average: number): string {
  const diff = Math.round((thisWeek - average) * 100) / 100;
  if (diff === 0) return `same as the ${average} average of the previous 4 weeks`;
  return `${diff > 0 ? '+' : ''}${diff} against the ${average} average of the previous 4 weeks`;
}

export function digestSubject(digest: Digest): string {
  const alarms: string[] = [];
  if (digest.emergency.uses.length > 0) alarms.push(`${digest.emergency.uses.length} emergency credential use${digest.emergency.uses.length === 1 ? '' : 's'}`);
  if (digest.findings.length > 0) alarms.push(`${digest.findings.length} gate${digest.findings.length === 1 ? '' : 's'} to fix`);
  return `Breakglass weekly digest ${digest.week}: ${digest.bypasses.thisWeek} bypass${digest.bypasses.thisWeek === 1 ? '' : 'es'}${alarms.length ? `, ${alarms.join(', ')}` : ''}`;
}

export function decisionLine(c: DecisionTimeClass): string {
  const label = c.class === 'incident' ? 'Incident-flagged' : 'Other';
  const target = c.class === 'incident' ? '15 minutes (wall clock)' : 'one business day';
  if (c.decided === 0) return `${label}: no decisions (target ${target}); ${c.waiting} waiting, ${c.waitingPastTarget} past the target; ${c.lapsed} lapsed`;
  return `${label}: ${c.decided} decided, p50 ${duration(c.p50Ms)}, p90 ${duration(c.p90Ms)} (target ${target}; ${pct(c.withinTargetRate)} within it${c.p90MeetsTarget === false ? '; p90 MISSES the target' : ''}); ${c.waiting} waiting, ${c.waitingPastTarget} past the target; ${c.lapsed} lapsed`;
}

export function ledgerLine(digest: Digest): string {
  const l = digest.ledger;
  const cp = l.checkpoint ? `latest signed checkpoint at size ${l.checkpoint.size} (root ${l.checkpoint.rootHash.slice(0, 16)}..., signed ${l.checkpoint.signedAt})` : 'no signed checkpoint yet';
  const witnesses = l.witnesses ? `${l.witnesses.cosigned} witness cosignature(s)${l.witnesses.quorum !== null ? ` of a quorum of ${l.witnesses.quorum}` : ''}${l.witnesses.names.length ? ` (${l.witnesses.names.join(', ')})` : ''}` : 'no witnesses configured';
  return `${l.size} entries; ${cp}; ${l.unsigned} entr${l.unsigned === 1 ? 'y' : 'ies'} not yet checkpointed; ${witnesses}${l.halted ? `; LOG HALTED: ${l.halted}` : ''}`;
}
