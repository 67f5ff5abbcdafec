import { useCallback, useEffect, useState } from 'react';
import type { RequestDetail } from '../shared/domain/api';
import type { Policy } from '../shared/domain/policy';
import { AppError } from '../shared/errors';
import { GateKindBadge, SeverityBadge, StateBadge, TierBadge } from '../renderer/components/badges';
import { ErrorNotice } from '../renderer/components/error-notice';
import { ScopeChips } from '../renderer/components/scope-chips';
import { Countdown } from '../renderer/components/timers';
import { api, followEvents } from './store-api';

const STAGES = ['Requested', 'Approved', 'Active', 'Ended'] as const;

/** Where a request stands on the road requested → approved → active → ended. */
function stageOf(state: string): { index: number; ended: boolean } {
  switch (state) {
    case 'pending':
    case 'needs_info':
      return { index: 0, ended: false };
    case 'active':
      return { index: 2, ended: false };
    default:
      return { index: 3, ended: true };
  }
}

const HEADLINE: Record<string, string> = {
  pending: 'Waiting for approval',
  needs_info: 'An approver asked you for more information',
  active: 'Bypass active',
  expired: 'Bypass expired',
  revoked: 'Bypass revoked',
  denied: 'Request denied',
  cancelled: 'Request cancelled',
  lapsed: 'Nobody decided in time',
};

/**
 * A filed request, live: each ledger entry about it (an approval, the activation, an evaluation
 * under the bypass, expiry) arrives over the store's event stream and the page re-reads the
 * request, through approval to expiry, without a reload.
 */
export function StatusView({ id, policy }: { id: string; policy: Policy }) {
  const [detail, setDetail] = useState<RequestDetail | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [live, setLive] = useState(false);
  const [uses, setUses] = useState(0);

  const refresh = useCallback(async () => {
    try {
      setDetail(await api<RequestDetail>('GET', `/v1/requests/${id}`));
      setError(null);
    } catch (e) {
      setError(e instanceof AppError ? e : new AppError('internal', String(e)));
    }
  }, [id]);

  useEffect(() => {
    void refresh();
    return followEvents(
      (data) => {
        if (!data.includes(id)) return;
        if (data.includes('"evaluation_under_bypass"')) setUses((n) => n + 1);
        void refresh();
      },
      (isLive) => {
        setLive(isLive);
        // Whatever happened while the stream was down is read once it is back.
        if (isLive) void refresh();
      },
    );
  }, [id, refresh]);

  if (!detail) return error ? <ErrorNotice error={error} title="Cannot read the request" /> : <p className="muted">Loading {id}…</p>;
  const r = detail.request;
  const stage = stageOf(r.state);
  const tier = policy.tiers[r.tier];
  return (
    <div className="stack" aria-label="request status">
      <div className="page-head">
        <div>
          <div className="rp-status-head">
            <h1>{HEADLINE[r.state] ?? r.state}</h1>
            <StateBadge state={r.state} />
          </div>
          <p>
            <span className="mono">{r.id}</span> · bypass of <span className="mono">{r.gate}</span> for <ScopeChips scope={r.scope} />
          </p>
        </div>
        <span className="rp-live" aria-live="polite">
          <span className={`dot ${live ? 'ok' : 'warn'}`} aria-hidden="true" />
          {live ? 'live' : 'reconnecting…'}
        </span>
      </div>
      <div className="rp-progress" aria-label="progress">
        {STAGES.map((name, i) => (
          <div key={name} className={`stage${i < stage.index || (stage.ended && i === stage.index) ? ' done' : ''}${i === stage.index && !stage.ended ? ' now' : ''}`}>
            <span className="bar" />
            <span>{name === 'Ended' && stage.ended ? r.state : name}</span>
          </div>
        ))}
      </div>
      <div className="rp-cols">
        <section className="panel" aria-label="details">
          <div className="panel-head">
            <h2>Request</h2>
            <div className="row">
              <GateKindBadge kind={r.gateKind} />
              <TierBadge tier={r.tier} />
              <SeverityBadge severity={r.severity} />
            </div>
          </div>
          <div className="panel-body">
            <dl className="facts">
              <dt>Requester</dt>
              <dd>
                {r.requester} (team {r.team})
              </dd>
              <dt>Asked for</dt>
              <dd className="mono">
                {r.ttl}
                {r.approvedTtl && r.approvedTtl !== r.ttl ? `, ${r.approvedTtl} approved` : ''}
              </dd>
              {r.incidentRef ? (
                <>
                  <dt>Incident</dt>
                  <dd className="mono">{r.incidentRef}</dd>
                </>
              ) : null}
              <dt>Reason</dt>
              <dd className="reason">{r.reason}</dd>
              <dt>Approvals</dt>
              <dd>
                {r.approvals.length}/{r.approvalsRequired}
                {r.approvals.length > 0 ? ` (${r.approvals.map((a) => a.approver).join(', ')})` : ''}
              </dd>
              {r.state === 'pending' || r.state === 'needs_info' ? (
                <>
                  <dt>Who can approve</dt>
                  <dd>{detail.approvers.join(', ') || 'nobody yet: ask an admin'}</dd>
                </>
              ) : null}
              {r.bypassId ? (
                <>
                  <dt>Bypass</dt>
                  <dd className="mono">{r.bypassId}</dd>
                </>
              ) : null}
              {r.closedAt ? (
                <>
                  <dt>Closed</dt>
                  <dd>
                    {r.closedAt}
                    {r.closedBy ? ` by ${r.closedBy}` : ''}
                    {r.closeComment ? `: ${r.closeComment}` : ''}
                  </dd>
                </>
              ) : null}
            </dl>
            {r.messages.length > 0 ? (
              <ul className="rp-rules" style={{ marginTop: 12 }}>
                {r.messages.map((m) => (
                  <li key={m.at + m.from}>
                    <strong>{m.from}</strong> ({m.kind}): {m.text}
                  </li>
                ))}
              </ul>
            ) : null}
            {r.state === 'needs_info' ? (
              <p className="notice warn" style={{ marginTop: 12 }}>
                Answer with <code>breakglass request reply {r.id} --message "…"</code>.
              </p>
            ) : null}
          </div>
        </section>
        <section className="panel" aria-label="bypass window">
          <div className="panel-head">
            <h2>Bypass window</h2>
          </div>
          <div className="panel-body">
            {r.state === 'active' && r.expiresAt ? (
              <div className="stack">
                <div>
                  <div className="muted">Ends in</div>
                  <div className="rp-big">
                    <Countdown expiresAt={r.expiresAt} />
                  </div>
                  <div className="muted">at {r.expiresAt}</div>
                </div>
                <p className="notice ok">The gate passes for this scope now, with a warning; every use is recorded{uses > 0 ? ` (${uses} so far)` : ''}.</p>
              </div>
            ) : r.state === 'pending' || r.state === 'needs_info' ? (
              <p className="muted">
                Starts when {r.approvalsRequired === 1 ? 'an approver approves' : `${r.approvalsRequired} approvers approve`}
                {tier ? `; lasts at most ${tier.maxTtl}` : ''}. This page updates by itself.
              </p>
            ) : r.expiresAt ? (
              <p className="muted">
                Ran from {r.activatedAt} to {r.closedAt ?? r.expiresAt}. A review of this bypass follows.
              </p>
            ) : (
              <p className="muted">No bypass was opened.</p>
            )}
          </div>
        </section>
      </div>
      <ErrorNotice error={error} />
    </div>
  );
}
