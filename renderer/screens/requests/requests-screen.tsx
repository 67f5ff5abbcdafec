import { useState } from 'react';
import { RequestStateSchema, type RequestState } from '../../../shared/domain/request';
import { useSession } from '../../app/use-session';
import { useUi } from '../../app/ui-store';
import { useChannelPages } from '../../bridge/queries';
import { GateKindBadge, SeverityBadge, StateBadge, TierBadge } from '../../components/badges';
import { ErrorNotice } from '../../components/error-notice';
import { ScopeChips } from '../../components/scope-chips';
import { ShowMore } from '../../components/show-more';
import { Age } from '../../components/timers';

/**
 * Every request by state, including my own and ones already decided: the wider view next to the
 * inbox (the work queue, ordered by severity). A browsing view of a store that holds years of
 * requests, so it reads a page at a time and lists them in the store's order, newest first: a
 * next page adds older requests below, never among the ones already shown.
 */
export function RequestsScreen() {
  const [state, setState] = useState<RequestState | 'open'>('open');
  const [mineOnly, setMineOnly] = useState(false);
  const session = useSession().data;
  const me = session?.principal ?? undefined;
  // A filter is part of the query's key: changing one starts again from the first page.
  const requests = useChannelPages('console:main:list-requests', { state, ...(mineOnly && me ? { requester: me } : {}) }, { keepPrevious: true });
  const openRequest = useUi((s) => s.openRequest);
  const rows = (requests.data?.pages ?? []).flatMap((page) => page.requests);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Requests</h1>
          <p>All requests the store shows you, newest first, including your own (which you can follow but not decide).</p>
        </div>
        <div className="row">
          <label className="row" style={{ gap: 4 }}>
            <input type="checkbox" checked={mineOnly} onChange={(e) => setMineOnly(e.target.checked)} /> Mine only
          </label>
          <select className="select" aria-label="Request state" value={state} onChange={(e) => setState(e.target.value as RequestState | 'open')}>
            <option value="open">open (pending, needs info, active)</option>
            {RequestStateSchema.options.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorNotice error={requests.error} showingCopy={!!requests.data} title="Could not load requests" />
      <div className="panel" style={{ marginTop: requests.error ? 12 : 0 }}>
        <table className="table" aria-label="Requests">
          <thead>
            <tr>
              <th>Sev</th>
              <th>Gate</th>
              <th>Requester</th>
              <th>Scope</th>
              <th>TTL</th>
              <th>Age</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} aria-label={`${r.id} ${r.gate} requested by ${r.requester}`}>
                <td>
                  <SeverityBadge severity={r.severity} />
                </td>
                <td>
                  <button type="button" className="btn link mono" style={{ fontWeight: 600 }} onClick={() => openRequest(r.id, 'requests')}>
                    {r.gate}
                  </button>
                  <div className="row" style={{ gap: 4, marginTop: 2 }}>
                    {r.gateKind === 'safety' ? <GateKindBadge kind="safety" /> : null}
                    <TierBadge tier={r.tier} />
                  </div>
                </td>
                <td>
                  {r.requester}
                  {r.requester === me ? <span className="badge sw" style={{ marginLeft: 6 }}>you</span> : null}
                  <div className="muted">{r.team}</div>
                </td>
                <td>
                  <ScopeChips scope={r.scope} wrap />
                </td>
                <td className="mono">{r.ttl}</td>
                <td>
                  <Age since={r.createdAt} />
                </td>
                <td>
                  <StateBadge state={r.state} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!requests.isPending && rows.length === 0 && !requests.error ? (
          <div className="empty">
            <strong>No requests in this state</strong>
          </div>
        ) : null}
        {requests.hasNextPage ? <ShowMore shown={rows.length} loading={requests.isFetchingNextPage} onMore={() => void requests.fetchNextPage()} /> : null}
      </div>
    </>
  );
}
