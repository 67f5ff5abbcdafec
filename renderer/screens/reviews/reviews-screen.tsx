import { useState } from 'react';
import type { Review, ReviewFinding, TimelineItem } from '../../../shared/domain/review';
import { foldTimeline } from '../../../shared/domain/review-timeline';
import { useSession } from '../../app/use-session';
import { useUi } from '../../app/ui-store';
import { useChannelMutation, useChannelPages } from '../../bridge/queries';
import { StateBadge } from '../../components/badges';
import { ErrorNotice, fieldError } from '../../components/error-notice';
import { ShowMore } from '../../components/show-more';
import { formatUtc, withReadableTimes } from '../../lib/time';

const FINDINGS: { value: ReviewFinding; label: string; hint: string }[] = [
  { value: 'justified', label: 'Justified', hint: 'The bypass was the right call.' },
  { value: 'not_justified', label: 'Not justified', hint: 'The gate should have held.' },
  { value: 'fix_the_gate', label: 'Fix the gate', hint: 'The gate was wrong or too slow: file the fix.' },
];
const MIN_NOTE = 10;
/** The store's summaries usually start with the actor's name; do not say it twice. */
function withoutActor(summary: string, actor: string): string {
  return withReadableTimes(summary.startsWith(`${actor} `) ? summary.slice(actor.length + 1) : summary);
}

/**
 * Did `me` approve the reviewed bypass? Then a sign-off is a self-review (the store records it as
 * such). The store's approvedBy decides; reviews opened before it existed fall back to the timeline.
 */
function ownDecision(review: Review, me: string | null | undefined): TimelineItem | undefined {
  if (!me || (review.approvedBy && !review.approvedBy.includes(me))) return undefined;
  return review.timeline.find((item) => item.actor === me && item.type === 'decision');
}

function CompleteForm({ review, disabledReason, me }: { review: Review; disabledReason: string | null; me: string | null | undefined }) {
  const complete = useChannelMutation('console:main:complete-review');
  // No default finding: the reviewer must choose one.
  const [finding, setFinding] = useState<ReviewFinding | null>(null);
  const own = ownDecision(review, me);
  const [note, setNote] = useState('');
  const err = complete.error;
  return (
    <form
      aria-label={`complete review ${review.id}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (finding) complete.mutate({ id: review.id, finding, note });
      }}
    >
      {own ? (
        <div className="notice warn" role="note" aria-label="reviewing your own decision" style={{ marginBottom: 12 }}>
          You signed a decision on this bypass yourself ({withoutActor(own.summary, own.actor)}, ledger #{own.seq}). Prefer a reviewer who did not take part; if you sign off, the store records it as a self-review
          (on the review and in the ledger).
        </div>
      ) : null}
      <div className="field">
        <span className="label" id={`finding-label-${review.id}`}>
          Finding (choose one)
        </span>
        <div className="row" role="radiogroup" aria-labelledby={`finding-label-${review.id}`} aria-required="true">
          {FINDINGS.map((f) => (
            <label key={f.value} className="radio-card" style={{ padding: '6px 10px' }} title={f.hint}>
              <input type="radio" name={`finding-${review.id}`} checked={finding === f.value} onChange={() => setFinding(f.value)} />
              <span>{f.label}</span>
            </label>
          ))}
        </div>
      </div>
      <div className="field">
        <label htmlFor={`note-${review.id}`}>Note</label>
        <textarea id={`note-${review.id}`} className="textarea" value={note} onChange={(e) => setNote(e.target.value)} aria-invalid={Boolean(fieldError(err, 'note'))} />
        {fieldError(err, 'note') ? <span className="error">{fieldError(err, 'note')}</span> : <span className="hint">What happened, and what should change. At least {MIN_NOTE} characters.</span>}
      </div>
      <ErrorNotice error={err} title="Sign-off refused" shownInline={['note']} />
      <div className="row" style={{ marginTop: 8 }}>
        <button type="submit" className="btn primary" disabled={Boolean(disabledReason) || complete.isPending || !finding || note.trim().length < MIN_NOTE}>
          {complete.isPending ? 'Saving…' : 'Complete review'}
        </button>
        {disabledReason ? <span className="muted">{disabledReason}</span> : !finding ? <span className="muted">Choose a finding first.</span> : null}
      </div>
    </form>
  );
}

export function ReviewsScreen() {
  const [state, setState] = useState<'review_open' | 'reviewed'>('review_open');
  // A page at a time (newest opened first): Show more asks the store for the next one.
  const reviews = useChannelPages('console:main:list-reviews', { state }, { keepPrevious: true });
  const session = useSession().data;
  const openRequest = useUi((s) => s.openRequest);
  const [selected, setSelected] = useState<string | null>(null);
  const pages = reviews.data?.pages ?? [];
  const list = pages.flatMap((page) => page.reviews);
  const source = pages[0]?.data;
  const me = session?.principal;
  const assignedToMe = (r: Review) => Boolean(me && r.assignedTo?.includes(me));
  // Without a choice, the first review assigned to me (else the first one) is shown.
  const current = list.find((r) => r.id === selected) ?? list.find(assignedToMe) ?? list[0] ?? null;
  const offline = !session?.connection.online;
  const disabledReason = !current
    ? null
    : offline
      ? 'The grant store is unreachable: sign-off needs the store.'
      : current.requester === session?.principal
        ? 'You filed this request: a review is signed off by someone other than the requester.'
        : null;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Reviews</h1>
          <p>Post-incident reviews open by themselves when a bypass expires or is revoked.</p>
        </div>
        <div className="seg" role="tablist" aria-label="review state">
          <button type="button" role="tab" aria-selected={state === 'review_open'} onClick={() => setState('review_open')}>
            Waiting for sign-off
          </button>
          <button type="button" role="tab" aria-selected={state === 'reviewed'} onClick={() => setState('reviewed')}>
            Completed
          </button>
        </div>
      </div>
      <ErrorNotice error={reviews.error} showingCopy={!!reviews.data} title="Could not load reviews" />
      {source?.source === 'mirror' ? (
        <div className="notice info" style={{ marginBottom: 12 }}>
          Showing the local copy{source.asOf ? ` as of ${formatUtc(source.asOf)}` : ''}: the newest reviews only; older ones need the store.
        </div>
      ) : null}
      {list.length === 0 && !reviews.isPending ? (
        <div className="panel empty">
          <strong>{state === 'review_open' ? 'No reviews waiting' : 'No completed reviews'}</strong>
          {state === 'review_open' ? 'Every closed bypass has been signed off.' : ''}
        </div>
      ) : (
        <div className="grid-2" style={{ gridTemplateColumns: '360px minmax(0, 1fr)' }}>
          <div className="panel" style={{ overflow: 'hidden' }}>
            <table className="table" aria-label="Reviews">
              <thead>
                <tr>
                  <th>Gate / request</th>
                  <th>Opened</th>
                  <th>State</th>
                </tr>
              </thead>
              <tbody>
                {list.map((r) => (
                  <tr key={r.id} className={current?.id === r.id ? 'selected' : undefined} style={current?.id === r.id ? { background: 'var(--accent-bg)' } : undefined}>
                    <td>
                      <button type="button" className="btn link mono" onClick={() => setSelected(r.id)} aria-label={`${r.gate}, review ${r.id}`} aria-current={current?.id === r.id ? 'true' : undefined} style={{ fontWeight: 600 }}>
                        {r.gate}
                      </button>
                      <div className="muted" style={{ fontSize: 12 }}>
                        {r.requester} · {r.team}
                      </div>
                      {r.state === 'review_open' && assignedToMe(r) ? <span className="badge tier">assigned to you</span> : null}
                      {r.selfReview ? <span className="badge warn-file">self-review</span> : null}
                    </td>
                    <td className="mono nowrap" style={{ fontSize: 11.5 }} title={formatUtc(r.openedAt)}>
                      {formatUtc(r.openedAt).slice(0, 10)}
                      <div className="muted">{formatUtc(r.openedAt).slice(11)}</div>
                    </td>
                    <td>
                      <StateBadge state={r.state} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {reviews.hasNextPage ? <ShowMore shown={list.length} loading={reviews.isFetchingNextPage} onMore={() => void reviews.fetchNextPage()} /> : null}
          </div>
          {current ? (
            <section className="panel" aria-label={`review ${current.id} detail`}>
              <div className="panel-head">
                <div>
                  <h2 className="mono">{current.gate}</h2>
                  <div className="muted" style={{ fontSize: 12 }}>
                    <span className="mono">{current.id}</span> · request{' '}
                    <button type="button" className="btn link mono" onClick={() => openRequest(current.requestId, 'reviews')}>
                      {current.requestId}
                    </button>
                  </div>
                </div>
                <StateBadge state={current.state} />
              </div>
              {current.assignedTo?.length ? (
                <div className="panel-body" style={{ borderBottom: '1px solid var(--border-muted)', fontSize: 12 }} aria-label="assigned to">
                  Assigned by the store to <strong>{current.assignedTo.join(', ')}</strong>
                  {current.approvedBy?.length ? <span className="muted"> · approved by {current.approvedBy.join(', ')}</span> : null}
                </div>
              ) : null}
              <div className="panel-body">
                <h3 style={{ marginBottom: 8 }}>Timeline</h3>
                <ul className="timeline" aria-label="review timeline">
                  {foldTimeline(current.timeline).map((item) => (
                    <li key={item.seq}>
                      <div className="t">
                        {formatUtc(item.time)} · #{item.seq}
                        {item.run ? `–#${item.run.lastSeq}` : ''} · {item.type}
                      </div>
                      <div>
                        <strong>{item.actor}</strong> {withoutActor(item.summary, item.actor)}
                      </div>
                      {item.run ? (
                        <div className="group">
                          and {(item.run.count - 1).toLocaleString('en-US')} more like it until {formatUtc(item.run.lastTime)} ({item.run.count.toLocaleString('en-US')} in all)
                        </div>
                      ) : null}
                    </li>
                  ))}
                </ul>
              </div>
              <div className="panel-body" style={{ borderTop: '1px solid var(--border-muted)' }}>
                {current.state === 'reviewed' ? (
                  <dl className="facts">
                    <dt>Finding</dt>
                    <dd>{FINDINGS.find((f) => f.value === current.finding)?.label ?? current.finding}</dd>
                    <dt>Note</dt>
                    <dd>{current.note}</dd>
                    <dt>Signed off</dt>
                    <dd>
                      {current.completedBy} {current.completedAt ? <span className="mono muted">{formatUtc(current.completedAt)}</span> : null}
                      {current.selfReview ? (
                        <div className="notice warn" role="note" aria-label="self-review recorded" style={{ marginTop: 6 }}>
                          Self-review: signed off by someone who approved this bypass (recorded in the ledger).
                        </div>
                      ) : null}
                    </dd>
                  </dl>
                ) : (
                  <CompleteForm key={current.id} review={current} disabledReason={disabledReason} me={session?.principal} />
                )}
              </div>
            </section>
          ) : null}
        </div>
      )}
    </>
  );
}
