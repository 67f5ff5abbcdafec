import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, type KeyboardEvent } from 'react';
import type { InboxItem } from '../../../shared/ipc/contract';
import { EMPTY_INBOX_FILTERS, useUi, type InboxFilters } from '../../app/ui-store';
import { SeveritySchema } from '../../../shared/domain/common';
import { useChannel } from '../../bridge/queries';
import { GateKindBadge, SeverityBadge, StateBadge, TierBadge } from '../../components/badges';
import { ErrorNotice } from '../../components/error-notice';
import { ScopeChips } from '../../components/scope-chips';
import { Age, SlaTimer } from '../../components/timers';
import { incidentLabel } from '../../lib/links';
import { compareInbox } from '../../lib/severity';
import { formatUtc } from '../../lib/time';

const ROW_HEIGHT = 52;
const GRID = '64px minmax(120px, 1.1fr) minmax(170px, 1.4fr) minmax(160px, 1.6fr) 56px 64px 116px 72px';
const COLUMNS = ['Sev', 'Requester', 'Gate', 'Scope', 'TTL', 'Age', 'Decision due', 'Approvals'];

function InboxRow({ item, index, top, onOpen }: { item: InboxItem; index: number; top: number; onOpen(): void }) {
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
      tabIndex={0}
      className="vrow clickable"
      style={{ top, height: ROW_HEIGHT, gridTemplateColumns: GRID }}
      onClick={onOpen}
      onKeyDown={onKeyDown}
    >
      <span role="cell">
        <SeverityBadge severity={request.severity} />
      </span>
      <span role="cell">
        <div style={{ fontWeight: 600 }}>{request.requester}</div>
        <div className="muted" style={{ fontSize: 12 }}>
          {request.team}
        </div>
      </span>
      <span role="cell">
        <div className="mono" style={{ fontWeight: 600, overflow: 'hidden', textOverflow: 'ellipsis' }}>
          {request.gate}
        </div>
        <div className="row" style={{ gap: 4, flexWrap: 'nowrap' }}>
          {gate.kind === 'safety' ? <GateKindBadge kind="safety" /> : null}
          <TierBadge tier={gate.tier} />
        </div>
      </span>
      <span role="cell">
        <ScopeChips scope={request.scope} />
        {request.incidentRef ? (
          <div className="mono muted" style={{ fontSize: 11.5 }} title={request.incidentRef}>
            {incidentLabel(request.incidentRef)}
          </div>
        ) : null}
      </span>
      <span role="cell" className="mono">
        {request.ttl}
      </span>
      <span role="cell">
        <Age since={request.createdAt} />
      </span>
      <span role="cell">
        {request.state === 'needs_info' ? (
          <span title="An approver asked the requester for context; the SLA clock waits for the reply">
            <StateBadge state="needs_info" />
          </span>
        ) : (
          <SlaTimer createdAt={request.createdAt} incidentRef={request.incidentRef} />
        )}
      </span>
      <span role="cell" className="mono" aria-label={`approvals ${item.approvalsSoFar} of ${request.approvalsRequired}`}>
        {request.approvalsRequired > 1 ? `${item.approvalsSoFar} of ${request.approvalsRequired}` : <span className="subtle">1 needed</span>}
      </span>
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
      <ErrorNotice error={inbox.error} title="Could not load the inbox" />
      <div className="panel" style={{ flex: 1, display: 'flex', flexDirection: 'column', minHeight: 0, marginTop: inbox.error ? 12 : 0 }}>
        <InboxFilterBar shown={items.length} total={all?.length ?? 0} />
        <div role="table" aria-label="Requests waiting for me" aria-rowcount={items.length + 1} style={{ display: 'flex', flexDirection: 'column', minHeight: 0, flex: 1 }}>
          <div className="vhead" role="row" aria-rowindex={1} style={{ gridTemplateColumns: GRID }}>
            {COLUMNS.map((c) => (
              <span role="columnheader" key={c}>
                {c}
              </span>
            ))}
          </div>
          <div ref={scrollRef} className="vlist" role="rowgroup">
            {inbox.isPending ? (
              <div className="empty">Loading…</div>
            ) : items.length === 0 && all?.length ? (
              <div className="empty">
                <strong>No request matches the filters</strong>
                {all.length.toLocaleString('en-US')} waiting in all.
              </div>
            ) : items.length === 0 && !inbox.error ? (
              <div className="empty">
                <strong>Nothing waiting for you</strong>
                New requests you can decide appear here, and you are notified for those at or above your threshold.
              </div>
            ) : (
              <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
                {virtualizer.getVirtualItems().map((v) => {
                  const item = items[v.index]!;
                  return <InboxRow key={item.request.id} item={item} index={v.index} top={v.start} onOpen={() => openRequest(item.request.id, 'inbox')} />;
                })}
              </div>
            )}
          </div>
        </div>
      </div>
    </>
  );
}
