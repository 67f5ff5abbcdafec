import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, type KeyboardEvent, type ReactNode } from 'react';
import type { InboxItem } from '../../../shared/ipc/contract';
import { EMPTY_INBOX_FILTERS, useUi, type InboxFilters } from '../../app/ui-store';
import { useSession } from '../../app/use-session';
import { SeveritySchema } from '../../../shared/domain/common';
import { useChannel } from '../../bridge/queries';
import { GateKindBadge, SeverityBadge, StateBadge, TierBadge } from '../../components/badges';
import { ErrorNotice } from '../../components/error-notice';
import { ScopeChips } from '../../components/scope-chips';
import { Age, SlaTimer } from '../../components/timers';
import { incidentLabel } from '../../lib/links';
import { compareInbox } from '../../lib/severity';
import { formatUtc } from '../../lib/time';

/** Estimated row height; real rows are measured (scope chips wrap, so a row can be taller). */
const ROW_HEIGHT = 56;
/**
 * Columns in the order they are dropped when the window narrows (CSS in app.css, .inbox-grid):
 * TTL first, then Age; the reason, the full scope, the decision due time and approvals stay.
 */
const COLUMNS: { label: string; className: string }[] = [
  { label: 'Sev', className: 'c-sev' },
  { label: 'Requester', className: 'c-requester' },
  { label: 'Gate', className: 'c-gate' },
  { label: 'Reason', className: 'c-reason' },
  { label: 'Scope', className: 'c-scope' },
  { label: 'Decision due', className: 'c-due' },
  { label: 'Approvals', className: 'c-approvals' },
  { label: 'Age', className: 'c-age' },
  { label: 'TTL', className: 'c-ttl' },
];

function InboxRow({ item, index, top, onOpen, measure }: { item: InboxItem; index: number; top: number; onOpen(): void; measure(node: HTMLElement | null): void }) {
  const { request, gate } = item;
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onOpen();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const sibling = e.key === 'ArrowDown' ? e.currentTarget.nextElementSibling : e.currentTarget.previousElementSibling;
      (sibling as HTMLElement | null)?.focus();
    }
  };
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-label={`${request.id} ${request.gate} requested by ${request.requester}`}
      data-request-id={request.id}
      data-index={index}
      ref={measure}
      tabIndex={0}
      className="vrow clickable inbox-grid"
      style={{ top, minHeight: ROW_HEIGHT }}
      onClick={onOpen}
      onKeyDown={onKeyDown}
    >
      <span role="cell" className="c-sev">
        <SeverityBadge severity={request.severity} />
      </span>
      <span role="cell" className="c-requester">
        <div style={{ fontWeight: 600 }}>{request.requester}</div>
        <div className="muted" style={{ fontSize: 12 }}>
          {request.team}
        </div>
      </span>
      <span role="cell" className="c-gate">
        <div className="mono" style={{ fontWeight: 600, overflow: 'hidden', textOverflow: 'ellipsis' }}>
          {request.gate}
        </div>
        <div className="row" style={{ gap: 4 }}>
          {gate.kind === 'safety' ? <GateKindBadge kind="safety" /> : null}
          <TierBadge tier={gate.tier} />
        </div>
      </span>
      <span role="cell" className="c-reason" title={request.reason}>
        <span className="one-line">{request.reason}</span>
        {request.incidentRef ? (
          <div className="mono muted one-line" style={{ fontSize: 11.5 }} title={request.incidentRef}>
            {incidentLabel(request.incidentRef)}
          </div>
        ) : null}
      </span>
      <span role="cell" className="c-scope">
        <ScopeChips scope={request.scope} wrap />
      </span>
      <span role="cell" className="c-due">
        {request.state === 'needs_info' ? (
          <span title="An approver asked the requester for context; the SLA clock waits for the reply">
            <StateBadge state="needs_info" />
          </span>
        ) : (
          <SlaTimer createdAt={request.createdAt} incidentRef={request.incidentRef} />
        )}
      </span>
      <span role="cell" className="c-approvals mono" aria-label={`approvals ${item.approvalsSoFar} of ${request.approvalsRequired}`}>
        {request.approvalsRequired > 1 ? `${item.approvalsSoFar} of ${request.approvalsRequired}` : <span className="muted">1 needed</span>}
      </span>
      <span role="cell" className="c-age">
        <Age since={request.createdAt} />
      </span>
      <span role="cell" className="c-ttl mono">
        {request.ttl}
      </span>
    </div>
  );
}

/** A message where rows go: still a row with a cell, so the table's structure stays valid. */
function EmptyRow({ children }: { children: ReactNode }) {
  return (
    <div role="row" aria-rowindex={2}>
      <div role="cell" className="empty">
        {children}
      </div>
    </div>
  );
}

/** Case-insensitive match on everything an approver might type: id, people, gate, tier, scope, incident. */
function matches(item: InboxItem, filters: InboxFilters): boolean {
  const { request, gate } = item;
  if (filters.severity && request.severity !== filters.severity) return false;
  if (filters.safetyOnly && gate.kind !== 'safety') return false;
  const needle = filters.text.trim().toLowerCase();
  if (!needle) return true;
  const haystack = [request.id, request.requester, request.team, request.gate, gate.tier, request.incidentRef ?? '', ...Object.entries(request.scope).map(([k, v]) => `${k}=${v}`)];
  return haystack.some((h) => h.toLowerCase().includes(needle));
}

function InboxFilterBar({ shown, total }: { shown: number; total: number }) {
  const filters = useUi((s) => s.inboxFilters);
  const setFilters = useUi((s) => s.setInboxFilters);
  const active = filters.text || filters.severity || filters.safetyOnly;
  return (
    <div className="toolbar" role="search" aria-label="inbox filters">
      <input className="input" style={{ width: 300 }} placeholder="Filter: person, gate, scope, incident…" aria-label="Filter requests" value={filters.text} onChange={(e) => setFilters({ text: e.target.value })} />
      <select className="select" aria-label="Severity" value={filters.severity} onChange={(e) => setFilters({ severity: e.target.value as InboxFilters['severity'] })}>
        <option value="">All severities</option>
        {SeveritySchema.options.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <label className="row" style={{ gap: 4 }}>
        <input type="checkbox" checked={filters.safetyOnly} onChange={(e) => setFilters({ safetyOnly: e.target.checked })} /> Safety gates only
      </label>
      {active ? (
        <>
          <span className="muted" aria-live="polite">
            {shown.toLocaleString('en-US')} of {total.toLocaleString('en-US')}
          </span>
          <button type="button" className="btn small" onClick={() => setFilters(EMPTY_INBOX_FILTERS)}>
            Clear
          </button>
        </>
      ) : null}
    </div>
  );
}

/** Reviews the store assigned to me (Review.assignedTo): listed with the work waiting for me. */
function AssignedReviews() {
  const me = useSession().data?.principal;
  const reviews = useChannel('console:main:list-reviews', { state: 'review_open' }, { refetchInterval: 60_000 });
  const navigate = useUi((s) => s.navigate);
  const mine = (reviews.data?.reviews ?? []).filter((r) => me && r.assignedTo?.includes(me) && r.requester !== me);
  if (mine.length === 0) return null;
  return (
    <div className="notice info row" role="note" aria-label="reviews assigned to me" style={{ marginBottom: 12, justifyContent: 'space-between' }}>
      <span>
        <strong>
          {mine.length} review{mine.length === 1 ? '' : 's'} assigned to you
        </strong>{' '}
        ({mine.map((r) => `${r.gate} by ${r.requester}`).join(', ')}): a bypass ended and waits for your sign-off.
      </span>
      <button type="button" className="btn small" onClick={() => navigate('reviews')}>
        Open reviews
      </button>
    </div>
  );
}

export function InboxScreen() {
  const inbox = useChannel('console:main:list-inbox', {}, { refetchInterval: 30_000 });
  const openRequest = useUi((s) => s.openRequest);
  const filters = useUi((s) => s.inboxFilters);
  const all = inbox.data?.items;
  const items = useMemo(() => (all ?? []).filter((i) => matches(i, filters)).sort((a, b) => compareInbox(a.request, b.request)), [all, filters]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: items.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 8 });
  const incidents = (all ?? []).filter((i) => i.incidentFlagged).length;

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Inbox</h1>
          <p>
            {all ? `${all.length.toLocaleString('en-US')} request${all.length === 1 ? '' : 's'} waiting for your decision` : 'Requests waiting for your decision'}
            {incidents ? ` · ${incidents} incident-flagged (15 min SLA)` : ''}. Sorted by severity, then age.
          </p>
        </div>
        {inbox.data ? <span className="muted mono" style={{ fontSize: 12 }}>fetched {formatUtc(inbox.data.fetchedAt)}</span> : null}
      </div>
      <ErrorNotice error={inbox.error} showingCopy={!!inbox.data} title="Could not load the inbox" />
      <AssignedReviews />
      <div className="panel" style={{ flex: 1, display: 'flex', flexDirection: 'column', minHeight: 0, marginTop: inbox.error ? 12 : 0 }}>
        <InboxFilterBar shown={items.length} total={all?.length ?? 0} />
        <div role="table" aria-label="Requests waiting for me" aria-rowcount={items.length + 1} style={{ display: 'flex', flexDirection: 'column', minHeight: 0, flex: 1 }}>
          <div className="vhead inbox-grid" role="row" aria-rowindex={1}>
            {COLUMNS.map((c) => (
              <span role="columnheader" key={c.label} className={c.className}>
                {c.label}
              </span>
            ))}
          </div>
          <div ref={scrollRef} className="vlist" role="rowgroup">
            {inbox.isPending ? (
              <EmptyRow>Loading…</EmptyRow>
            ) : items.length === 0 && all?.length ? (
              <EmptyRow>
                <strong>No request matches the filters</strong>
                {all.length.toLocaleString('en-US')} waiting in all.
              </EmptyRow>
            ) : items.length === 0 ? (
              <EmptyRow>
                {inbox.error ? (
                  <strong>The inbox could not be loaded</strong>
                ) : (
                  <>
                    <strong>Nothing waiting for you</strong>
                    New requests you can decide appear here, and you are notified for those at or above your threshold.
                  </>
                )}
              </EmptyRow>
            ) : (
              <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
                {virtualizer.getVirtualItems().map((v) => {
                  const item = items[v.index]!;
                  return <InboxRow key={item.request.id} item={item} index={v.index} top={v.start} measure={virtualizer.measureElement} onOpen={() => openRequest(item.request.id, 'inbox')} />;
                })}
              </div>
            )}
          </div>
        </div>
      </div>
    </>
  );
}
