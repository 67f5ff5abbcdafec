import { useEffect, useRef, useState } from 'react';
import type { BypassRequest } from '../../../shared/domain/request';
import { useSession } from '../../app/use-session';
import { decisionsBlockedWhy, STORE_UNREACHABLE_WHY } from '../../app/decisions-blocked';
import { useUi } from '../../app/ui-store';
import { useChannel } from '../../bridge/queries';
import { SeverityBadge, TierBadge, GateKindBadge } from '../../components/badges';
import { ErrorNotice } from '../../components/error-notice';
import { ScopeChips } from '../../components/scope-chips';
import { Countdown } from '../../components/timers';
import { formatUtc } from '../../lib/time';
import { TextDecisionDialog } from '../request/decision-dialogs';

export function ActiveScreen() {
  const active = useChannel('console:main:list-active', {}, { refetchInterval: 15_000 });
  const session = useSession().data;
  const openRequest = useUi((s) => s.openRequest);
  const [revoking, setRevoking] = useState<BypassRequest | null>(null);
  const [revoked, setRevoked] = useState<{ id: string; gate: string; seq: number } | null>(null);
  const confirmation = useRef<HTMLDivElement>(null);
  useEffect(() => confirmation.current?.focus(), [revoked]);
  const blockedWhy = session ? decisionsBlockedWhy(session) : STORE_UNREACHABLE_WHY;
  const requests = [...(active.data?.requests ?? [])].sort((a, b) => ((a.expiresAt ?? '') < (b.expiresAt ?? '') ? -1 : 1));
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Active bypasses</h1>
          <p>Gates currently answering warn instead of block for these scopes. Each one ends by itself at its expiry (server clock).</p>
        </div>
      </div>
      <ErrorNotice error={active.error} showingCopy={!!active.data} title="Could not load active bypasses" />
      {revoked ? (
        <div className="notice ok" role="status" aria-label="decision recorded" tabIndex={-1} ref={confirmation} style={{ marginBottom: 12 }}>
          You revoked the bypass of <span className="mono">{revoked.gate}</span> ({revoked.id}) · recorded in the ledger as entry <span className="mono">#{revoked.seq}</span>. The gate blocks again.
        </div>
      ) : null}
      <div className="panel" style={{ marginTop: active.error ? 12 : 0 }}>
        <table className="table" aria-label="Active bypasses">
          <thead>
            <tr>
              <th>Gate</th>
              <th>Scope</th>
              <th>Requester</th>
              <th>Approved by</th>
              <th>Expires (UTC)</th>
              <th className="right">Time left</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {requests.map((r) => (
              <tr key={r.id} aria-label={`active bypass ${r.id}`}>
                <td>
                  <div className="row" style={{ gap: 6 }}>
                    <SeverityBadge severity={r.severity} />
                    <button type="button" className="btn link mono" style={{ fontWeight: 600 }} onClick={() => openRequest(r.id, 'active')}>
                      {r.gate}
                    </button>
                  </div>
                  <div className="row" style={{ gap: 4, marginTop: 4 }}>
                    {r.gateKind === 'safety' ? <GateKindBadge kind="safety" /> : null}
                    <TierBadge tier={r.tier} />
                  </div>
                </td>
                <td>
                  <ScopeChips scope={r.scope} wrap />
                </td>
                <td>
                  {r.requester}
                  <div className="muted">{r.team}</div>
                </td>
                <td>{r.approvals.map((a) => a.approver).join(', ')}</td>
                <td className="mono nowrap">{r.expiresAt ? formatUtc(r.expiresAt) : '—'}</td>
                <td className="right nowrap">{r.expiresAt ? <Countdown expiresAt={r.expiresAt} /> : null}</td>
                <td className="right">
                  <button
                    type="button"
                    className="btn danger small"
                    disabled={blockedWhy !== null}
                    title={blockedWhy ?? undefined}
                    onClick={() => setRevoking(r)}
                    aria-label={`Revoke ${r.id}`}
                  >
                    Revoke…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!active.isPending && requests.length === 0 && !active.error ? (
          <div className="empty">
            <strong>No active bypasses</strong>
            Every gate is enforcing.
          </div>
        ) : null}
      </div>
      {revoking && session ? (
        <TextDecisionDialog
          kind="revoke"
          request={revoking}
          gate={null}
          session={session}
          onClose={() => setRevoking(null)}
          onDone={(result) => {
            setRevoking(null);
            setRevoked({ id: result.request.id, gate: result.request.gate, seq: result.decision.seq });
          }}
        />
      ) : null}
    </>
  );
}
