import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import { LedgerEntryTypeSchema } from '../../../shared/domain/ledger-entry';
import type { VerificationState } from '../../../shared/ipc/contract';
import { EMPTY_LEDGER_FILTERS, useUi, type LedgerFilters } from '../../app/ui-store';
import { useSession } from '../../app/use-session';
import { useChannelMutation } from '../../bridge/queries';
import { ErrorNotice } from '../../components/error-notice';
import { formatUtc } from '../../lib/time';
import { SyncButton } from './sync-button';
import { LEDGER_PAGE_SIZE, useLedgerPages, type LedgerRow } from './use-ledger-pages';

const ROW_HEIGHT = 36;
const FILTER_DEBOUNCE_MS = 250;
/** Columns in app.css (.ledger-grid): below 1200 px they narrow and Gate is dropped (the target names the request). */
const COLUMNS = ['Seq', 'Time (UTC)', 'Type', 'Actor', 'Target', 'Gate', 'Detail', 'Verified'];

const VERIFY_TEXT: Record<VerificationState, { text: string; title: string }> = {
  verified: { text: '✓ verified', title: 'Covered by a checkpoint whose signature and Merkle proofs verified' },
  unverified: { text: '… pending', title: 'Not yet covered by a verified checkpoint' },
  failed: { text: '✗ FAILED', title: 'Did not verify against the signed checkpoint: the log may have been tampered with' },
};

function detailText(row: LedgerRow): string {
  const e = row.entry;
  const parts: string[] = [];
  if (e.approver) parts.push(`approver ${e.approver}`);
  if (e.expiresAt) parts.push(`until ${formatUtc(e.expiresAt)}`);
  if (e.incidentRef) parts.push(e.incidentRef);
  if (e.reason) parts.push(e.reason);
  const decision = (e.data as { decision?: unknown }).decision;
  if (typeof decision === 'string') parts.unshift(decision);
  return parts.join(' · ');
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return debounced;
}

function Filters() {
  const stored = useUi((s) => s.ledgerFilters);
  const setFilters = useUi((s) => s.setLedgerFilters);
  const [draft, setDraft] = useState<LedgerFilters>(stored);
  const debounced = useDebounced(draft, FILTER_DEBOUNCE_MS);
  useEffect(() => setFilters(debounced), [debounced, setFilters]);
  const text = (key: 'search' | 'gate' | 'team' | 'actor', label: string, width: number) => (
    <input className="input" style={{ width }} placeholder={label} aria-label={label} value={draft[key]} onChange={(e) => setDraft({ ...draft, [key]: e.target.value })} />
  );
  return (
    <div className="toolbar" role="search" aria-label="ledger filters">
      {text('search', 'Search target, actor, reason, incident…', 280)}
      {text('gate', 'Gate', 130)}
      {text('team', 'Team', 120)}
      {text('actor', 'Actor', 120)}
      <select className="select" aria-label="Entry type" value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.target.value as LedgerFilters['type'] })}>
        <option value="">All types</option>
        {LedgerEntryTypeSchema.options.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      {JSON.stringify(draft) !== JSON.stringify(EMPTY_LEDGER_FILTERS) ? (
        <button type="button" className="btn small" onClick={() => setDraft(EMPTY_LEDGER_FILTERS)}>
          Clear
        </button>
      ) : null}
    </div>
  );
}

export function LedgerScreen() {
  const filters = useUi((s) => s.ledgerFilters);
  const openRequest = useUi((s) => s.openRequest);
  const scrollRef = useRef<HTMLDivElement>(null);
  const [visiblePages, setVisiblePages] = useState<number[]>([0]);
  const [selected, setSelected] = useState<LedgerRow | null>(null);
  const { first, rowAt, error, loading } = useLedgerPages(filters, visiblePages);
  const sync = useChannelMutation('console:main:sync-ledger', ['console:main:query-ledger']);
  const session = useSession().data;
  const total = first?.total ?? 0;
  const virtualizer = useVirtualizer({ count: total, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const items = virtualizer.getVirtualItems();
  const firstPage = items.length ? Math.floor(items[0]!.index / LEDGER_PAGE_SIZE) : 0;
  const lastPage = items.length ? Math.floor(items[items.length - 1]!.index / LEDGER_PAGE_SIZE) : 0;
  useEffect(() => {
    const next: number[] = [];
    for (let p = firstPage; p <= lastPage; p++) next.push(p);
    setVisiblePages((prev) => (prev.join() === next.join() ? prev : next));
  }, [firstPage, lastPage]);
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
    setSelected(null);
  }, [filters]);

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Ledger</h1>
          <p>
            Append-only transparency log, mirrored and verified locally: readable with the store offline.
            {first ? (
              <>
                {' '}
                <span className="mono">{first.mirrorSize.toLocaleString('en-US')}</span> entries,{' '}
                <span className="mono">{first.verifiedTreeSize.toLocaleString('en-US')}</span> covered by the last verified checkpoint
                {first.lastSyncAt ? ` · synced ${formatUtc(first.lastSyncAt)}` : ''}.
              </>
            ) : null}
          </p>
        </div>
        <SyncButton offline={session ? !session.connection.online : false} pending={sync.isPending} onSync={() => sync.mutate({})} />
      </div>
      <ErrorNotice error={sync.error} title="Sync failed" />
      <ErrorNotice error={error} title="Could not read the ledger" />
      {first?.checkpoint ? (
        <div className="muted mono" style={{ fontSize: 11.5, marginBottom: 8 }} aria-label="checkpoint">
          checkpoint size {first.checkpoint.treeSize} · root {first.checkpoint.rootHash.slice(0, 32)}… · verified {formatUtc(first.checkpoint.verifiedAt)}
        </div>
      ) : null}
      <div className="panel" style={{ flex: 1, display: 'flex', flexDirection: 'column', minHeight: 0 }}>
        <Filters />
        <div role="table" aria-label="Ledger entries" aria-rowcount={total + 1} style={{ display: 'flex', flexDirection: 'column', flex: 1, minHeight: 0 }}>
          <div className="vhead ledger-grid" role="row" aria-rowindex={1}>
            {COLUMNS.map((c) => (
              <span role="columnheader" key={c} className={c === 'Gate' ? 'c-gate' : undefined}>
                {c}
              </span>
            ))}
          </div>
          <div ref={scrollRef} className="vlist" role="rowgroup" data-testid="ledger-scroll">
            {loading ? <div className="empty">Loading…</div> : null}
            {!loading && total === 0 && !error ? (
              <div className="empty">
                <strong>No entries match</strong>
                Try clearing the filters.
              </div>
            ) : null}
            <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
              {items.map((v) => {
                const row = rowAt(v.index);
                if (!row) {
                  return (
                    <div key={v.key} role="row" aria-rowindex={v.index + 2} className="vrow ledger-grid" style={{ top: v.start, height: ROW_HEIGHT }}>
                      <span role="cell" className="subtle">
                        …
                      </span>
                    </div>
                  );
                }
                const e = row.entry;
                const verify = VERIFY_TEXT[row.verification];
                return (
                  <div
                    key={v.key}
                    role="row"
                    aria-rowindex={v.index + 2}
                    aria-label={`ledger entry ${e.seq} ${e.type}`}
                    aria-selected={selected?.entry.seq === e.seq}
                    tabIndex={0}
                    className={`vrow ledger-grid clickable${selected?.entry.seq === e.seq ? ' selected' : ''}`}
                    style={{ top: v.start, height: ROW_HEIGHT }}
                    onClick={() => setSelected(row)}
                    onKeyDown={(ev) => ev.key === 'Enter' && setSelected(row)}
                  >
                    <span role="cell" className="mono">
                      #{e.seq}
                    </span>
                    <span role="cell" className="mono" style={{ fontSize: 12 }}>
                      {formatUtc(e.time).replace(' UTC', '')}
                    </span>
                    <span role="cell" className="mono" style={{ fontSize: 12 }}>
                      {e.type}
                    </span>
                    <span role="cell">
                      {e.actor} <span className="subtle">{e.actorRole}</span>
                    </span>
                    <span role="cell" className="mono" style={{ fontSize: 12 }} title={e.target}>
                      {e.target}
                    </span>
                    <span role="cell" className="mono c-gate" style={{ fontSize: 12 }}>
                      {e.gate ?? ''}
                    </span>
                    <span role="cell" className="muted" title={detailText(row)}>
                      {detailText(row)}
                    </span>
                    <span role="cell" className={`verify verify-${row.verification === 'verified' ? 'ok' : row.verification === 'failed' ? 'bad' : 'unknown'}`} title={verify.title}>
                      {verify.text}
                    </span>
                  </div>
                );
              })}
            </div>
          </div>
        </div>
        {selected ? (
          <section aria-label={`ledger entry ${selected.entry.seq} detail`} style={{ borderTop: '1px solid var(--border)', maxHeight: 240, overflow: 'auto', padding: '10px 14px', background: '#fafbfc' }}>
            <div className="row" style={{ justifyContent: 'space-between', marginBottom: 6 }}>
              <h3>
                Entry #{selected.entry.seq} · {selected.entry.type}
              </h3>
              <span className="row">
                {/^req_/.test(selected.entry.target) ? (
                  <button type="button" className="btn small" onClick={() => openRequest(selected.entry.target, 'ledger')}>
                    Open request
                  </button>
                ) : null}
                <button type="button" className="btn small" onClick={() => setSelected(null)}>
                  Close
                </button>
              </span>
            </div>
            <pre className="pem" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
              {JSON.stringify(selected.entry, null, 2)}
            </pre>
          </section>
        ) : null}
      </div>
    </>
  );
}
