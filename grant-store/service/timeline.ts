import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { Review, TimelineItem } from '../../shared/domain/review';
import { FOLD_RUN_LONGER_THAN, foldTimeline } from '../../shared/domain/review-timeline';
import type { LedgerRun, StoreReader } from '../storage/store';
import { formatScope } from '../../shared/policy/scope-match';
import type { Scope } from '../../shared/domain/common';

function summarize(entry: LedgerEntry): string {
  const d = entry.data as Record<string, unknown>;
  switch (entry.type) {
    case 'request_created':
      return `${entry.actor} requested a ${String(d.ttl)} bypass of ${entry.gate} on ${formatScope((d.scope ?? {}) as Scope)}: ${entry.reason ?? ''}`;
    case 'decision':
      return `${entry.actor} signed "${String(d.decision)}"${d.ttl ? ` (${String(d.ttl)})` : ''}${d.comment ? `: ${String(d.comment)}` : ''}`;
    case 'info_requested':
      return `${entry.actor} asked for more information: ${String(d.question ?? '')}`;
    case 'info_provided':
      return `${entry.actor} replied: ${String(d.message ?? '')}`;
    case 'bypass_activated':
      return `bypass ${String(d.bypassId)} active until ${entry.expiresAt} (approved by ${entry.approver ?? 'standing scope'})`;
    case 'evaluation_under_bypass':
      return `gate ${entry.gate} evaluated under the bypass for ${formatScope((d.subject ?? {}) as Scope)} (verdict warn)`;
    case 'bypass_expired':
      return `bypass expired at ${entry.expiresAt}`;
    case 'bypass_revoked':
      return `${entry.actor} revoked the bypass${d.comment ? `: ${String(d.comment)}` : ''}`;
    default:
      return `${entry.type} by ${entry.actor}`;
  }
}

/** Entries about a request that its review's timeline leaves out (the review's own). */
const NOT_ON_TIMELINE = ['review_opened', 'review_completed'] as const;

/** A ledger entry as a timeline item. */
export function timelineItem(e: LedgerEntry): TimelineItem {
  return { seq: e.seq, time: e.time, type: e.type, actor: e.actor, summary: summarize(e) };
}

/** A request's timeline as read so far: its items (folded) through ledger seq `throughSeq` (-1: none yet). */
export interface TimelineSoFar {
  throughSeq: number;
  items: TimelineItem[];
}

type RunsReader = Pick<StoreReader, 'ledgerRunsForTarget'>;

const NOTHING_YET: TimelineSoFar = { throughSeq: -1, items: [] };

function itemsOf(runs: readonly LedgerRun[]): TimelineItem[] {
  return runs.flatMap(({ count, entries }) => {
    if (count <= FOLD_RUN_LONGER_THAN) return entries.map(timelineItem);
    const first = entries[0]!;
    const last = entries.at(-1)!;
    return [{ ...timelineItem(first), run: { count, lastSeq: last.seq, lastTime: last.time } }];
  });
}

/**
 * A review's timeline, pre-filled from the request's ledger entries (but the review's own), long
 * runs folded: what foldTimeline makes of every entry as a timelineItem, read by runs. A long run
 * (a bypass's evaluations, each its own entry) is read as its first and last entry and a count.
 * With `soFar` (timelineSoFar, read before the transaction that closes the bypass), only the
 * entries after it are read here: foldTimeline joins a run cut in two by the read exactly as if
 * it had been read whole.
 */
export async function timelineOf(reader: RunsReader, requestId: string, soFar: TimelineSoFar = NOTHING_YET): Promise<TimelineItem[]> {
  return (await readOn(reader, requestId, soFar)).soFar.items;
}

/** The entries after `soFar` (at most `limit`) read by runs and folded onto it; `read`: how many entries that was. */
async function readOn(reader: RunsReader, requestId: string, soFar: TimelineSoFar, limit?: number): Promise<{ soFar: TimelineSoFar; read: number }> {
  const runs = await reader.ledgerRunsForTarget(requestId, NOT_ON_TIMELINE, FOLD_RUN_LONGER_THAN, soFar.throughSeq, limit);
  const read = runs.reduce((n, run) => n + run.count, 0);
  if (read === 0) return { soFar, read };
  return { soFar: { throughSeq: runs.at(-1)!.entries.at(-1)!.seq, items: foldTimeline([...soFar.items, ...itemsOf(runs)]) }, read };
}

/**
 * Entries of a request read at a time by timelineSoFar: on SQLite a read holds the event loop,
 * so a long history is read in steps with other work between them. bench/review-closure, 50,000
 * evaluations: steps of 5,000 held it up to 35 ms (a warn elsewhere waited 60 ms), 1,000 up to
 * 8-10 ms (10 ms; 5.6 ms with nothing closing), 500 no better and slower in all.
 */
const SO_FAR_STEP = 1_000;

/**
 * The timeline so far, read outside any transaction: the closure's transaction then reads only
 * what came after, so a bypass evaluated a million times does not hold the store's writes (every
 * warn waits on that transaction) while its evaluations are counted. Read in steps of `step`
 * entries, the event loop turning between them; foldTimeline joins runs across the
 * steps. The ledger is read as a prefix (seqs are given in commit order), so nothing at or
 * before `throughSeq` can appear later.
 */
export async function timelineSoFar(reader: RunsReader, requestId: string, step = SO_FAR_STEP): Promise<TimelineSoFar> {
  let soFar = NOTHING_YET;
  for (;;) {
    const next = await readOn(reader, requestId, soFar, step);
    soFar = next.soFar;
    if (next.read < step) return soFar;
    await yieldToEventLoop();
  }
}

/** A stored review as served: a timeline stored before folding is folded now (the same rule). */
export function servedReview(review: Review): Review {
  const timeline = foldTimeline(review.timeline);
  return timeline.length === review.timeline.length ? review : { ...review, timeline };
}
