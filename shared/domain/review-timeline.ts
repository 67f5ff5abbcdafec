import type { TimelineItem } from './review';

/**
 * Runs of the same event by the same actor longer than this are one timeline item (a `run`):
 * a bypass evaluated ten thousand times tells its story in a few lines, and a review's size
 * (what GET /v1/reviews serves, what the console holds) stops growing with the ledger.
 */
export const FOLD_RUN_LONGER_THAN = 2;

/** The ledger entries an item stands for. */
function entriesOf(item: TimelineItem): number {
  return item.run?.count ?? 1;
}

/** The ledger entries a timeline stands for (folded runs counted in full). */
export function timelineEntries(items: readonly TimelineItem[]): number {
  return items.reduce((n, item) => n + entriesOf(item), 0);
}

/**
 * `items` with every run of consecutive items of one type by one actor standing for more than
 * FOLD_RUN_LONGER_THAN entries folded into one: its first item, with `run` saying how many and
 * the last seq and time. Shorter runs stay as they are. Items already folded fold again with their
 * neighbours, so folding a folded timeline changes nothing, and the store (when a review opens,
 * and for reviews stored before folding, when served) and the console fold by the same rule.
 */
export function foldTimeline(items: readonly TimelineItem[]): TimelineItem[] {
  const out: TimelineItem[] = [];
  let start = 0;
  while (start < items.length) {
    const first = items[start]!;
    let end = start + 1;
    let count = entriesOf(first);
    while (end < items.length && items[end]!.type === first.type && items[end]!.actor === first.actor) count += entriesOf(items[end++]!);
    if (count > FOLD_RUN_LONGER_THAN) {
      const last = items[end - 1]!;
      const { run: _run, ...head } = first;
      out.push({ ...head, run: { count, lastSeq: last.run?.lastSeq ?? last.seq, lastTime: last.run?.lastTime ?? last.time } });
    } else {
      out.push(...items.slice(start, end));
    }
    start = end;
  }
  return out;
}
