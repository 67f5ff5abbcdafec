import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Review, TimelineItem } from '../../../../shared/domain/review';
import { describeReview } from '../../../../grant-store/cli/commands/review';
import { ReviewSchema } from '../../../../shared/domain/review';
import { FOLD_RUN_LONGER_THAN, foldTimeline, timelineEntries } from '../../../../shared/domain/review-timeline';

const BASE = { id: 'rev_0123456789abcdef', requestId: 'req_0123456789abcdef', gate: 'ci-tests', requester: 'alice', team: 'payments', state: 'review_open', openedAt: '2026-03-01T10:00:00.000Z', finding: null, note: null, completedBy: null, completedAt: null };
const item = (seq: number, type: string, actor: string): TimelineItem => ({ seq, time: `2026-03-01T10:00:${String(seq).padStart(2, '0')}.000Z`, type, actor, summary: `${type} ${seq}` });
const evals = (from: number, n: number, actor = 'ci') => Array.from({ length: n }, (_, i) => item(from + i, 'evaluation_under_bypass', actor));

describe('review timeline folding (issue 16: a review does not grow with the evaluations under its bypass)', () => {
  test('a run longer than FOLD_RUN_LONGER_THAN is its first item with the count and the last seq and time; shorter runs stay', () => {
    assert.equal(FOLD_RUN_LONGER_THAN, 2);
    const items = [item(0, 'request_created', 'alice'), item(1, 'decision', 'bob'), item(2, 'decision', 'carol'), item(3, 'bypass_activated', 'system'), ...evals(4, 50), item(54, 'bypass_expired', 'system')];
    const folded = foldTimeline(items);
    assert.deepEqual(
      folded.map((t) => [t.seq, t.type, t.run?.count ?? 1]),
      [
        [0, 'request_created', 1],
        [1, 'decision', 1],
        [2, 'decision', 1],
        [3, 'bypass_activated', 1],
        [4, 'evaluation_under_bypass', 50],
        [54, 'bypass_expired', 1],
      ],
    );
    assert.deepEqual(folded[4], { ...items[4], run: { count: 50, lastSeq: 53, lastTime: items[53]!.time } });
    assert.equal(timelineEntries(folded), items.length);
    // Two of a kind stay two items; three fold.
    assert.equal(foldTimeline(evals(0, 2)).length, 2);
    assert.equal(foldTimeline(evals(0, 3)).length, 1);
  });

  test('another actor ends a run; folding a folded timeline changes nothing; folded items merge with their neighbours', () => {
    const items = [...evals(0, 5, 'ci'), ...evals(5, 5, 'deploy-bot'), ...evals(10, 1, 'ci')];
    const folded = foldTimeline(items);
    assert.deepEqual(folded.map((t) => [t.actor, t.run?.count ?? 1]), [['ci', 5], ['deploy-bot', 5], ['ci', 1]]);
    assert.deepEqual(foldTimeline(folded), folded);
    // A folded run followed by more of the same (a review written before its last evaluations): one run.
    const merged = foldTimeline([folded[0]!, ...evals(5, 2, 'ci')]);
    assert.deepEqual(merged, [{ ...items[0]!, run: { count: 7, lastSeq: 6, lastTime: evals(5, 2)[1]!.time } }]);
    assert.deepEqual(foldTimeline([]), []);
  });

  test('review show prints a run as its first entry and one line for the rest; an unfolded stored timeline is folded first', () => {
    const timeline = [item(0, 'request_created', 'alice'), ...evals(1, 40)];
    const review = { ...BASE, timeline } as Review;
    const text = describeReview(review);
    assert.match(text, /#1 {2}2026-03-01T10:00:01\.000Z {2}evaluation_under_bypass +ci: evaluation_under_bypass 1\n {4}… and 39 more like it until #40 at 2026-03-01T10:00:40\.000Z \(40 in all; each one is in the ledger\)\n$/);
    assert.equal(describeReview({ ...review, timeline: foldTimeline(timeline) }), text);
  });

  test('the review schema takes a run and refuses a count below 2', () => {
    const base = BASE;
    const run = { ...item(4, 'evaluation_under_bypass', 'ci'), run: { count: 50, lastSeq: 53, lastTime: '2026-03-01T10:00:53.000Z' } };
    assert.equal(ReviewSchema.safeParse({ ...base, timeline: [run] }).success, true);
    assert.equal(ReviewSchema.safeParse({ ...base, timeline: [{ ...run, run: { ...run.run, count: 1 } }] }).success, false);
  });
});
