import type { History } from '../../../shared/domain/api';
import type { BypassRequest } from '../../../shared/domain/request';
import { useUi } from '../../app/ui-store';
import { StateBadge } from '../../components/badges';
import { scopeText } from '../../components/scope-chips';
import { formatUtc } from '../../lib/time';

/** How many past requests we list per person/team: enough to see a pattern, short enough to read. */
const RECENT_SHOWN = 5;
/** Budget bar turns amber at this share of the quarterly budget, red at or above 100%. */
const BUDGET_AMBER_SHARE = 0.75;

function Counts({ counts, label }: { counts: { last30Days: number; last90Days: number }; label: string }) {
  return (
    <div className="stat-grid" style={{ gridTemplateColumns: '1fr 1fr' }} aria-label={`${label} bypass counts`}>
      <div className="stat">
        <div className="v">{counts.last30Days}</div>
        <div className="l">bypasses · last 30 days</div>
      </div>
      <div className="stat">
        <div className="v">{counts.last90Days}</div>
        <div className="l">bypasses · last 90 days</div>
      </div>
    </div>
  );
}

function RecentList({ recent, currentId, label, showRequester }: { recent: BypassRequest[]; currentId: string; label: string; showRequester: boolean }) {
  const openRequest = useUi((s) => s.openRequest);
  const shown = recent.filter((r) => r.id !== currentId).slice(0, RECENT_SHOWN);
  if (!shown.length) return <p className="muted" style={{ margin: '10px 0 0', fontSize: 12 }}>No earlier requests.</p>;
  return (
    <ul className="history-list" aria-label={label}>
      {shown.map((r) => (
        <li key={r.id}>
          <span>
            <button type="button" className="btn link mono" onClick={() => openRequest(r.id)} style={{ fontSize: 12, fontWeight: 600 }}>
              {r.gate}
            </button>
            {showRequester ? <span className="muted"> · {r.requester}</span> : null}
          </span>
          <StateBadge state={r.state} />
          <span className="when" title={scopeText(r.scope)}>
            {formatUtc(r.createdAt)} · {scopeText(r.scope)}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function HistoryPanel({ history, requestId }: { history: History; requestId: string }) {
  const team = history.team;
  const share = team && team.budget > 0 ? team.usedThisQuarter / team.budget : 0;
  const barClass = share >= 1 ? 'red' : share >= BUDGET_AMBER_SHARE ? 'amber' : '';
  return (
    <div className="stack">
      <section className="panel" aria-label="requester history">
        <div className="panel-head">
          <h3>Requester history</h3>
          <span className="mono">{history.requester?.name ?? 'unknown'}</span>
        </div>
        <div className="panel-body">
          {history.requester ? (
            <>
              <Counts counts={history.requester.counts} label="requester" />
              <RecentList recent={history.requester.recent} currentId={requestId} label="requester's recent requests" showRequester={false} />
            </>
          ) : (
            <p className="muted">No history available.</p>
          )}
        </div>
      </section>
      <section className="panel" aria-label="team history">
        <div className="panel-head">
          <h3>Team history</h3>
          <span className="mono">{team?.name ?? 'unknown'}</span>
        </div>
        <div className="panel-body">
          {team ? (
            <>
              <Counts counts={team.counts} label="team" />
              <div style={{ margin: '12px 0 4px' }} className="row">
                <span style={{ fontWeight: 600, fontSize: 12 }}>Quarterly budget</span>
                <span className="spacer" style={{ flex: 1 }} />
                <span className="mono" aria-label="budget used">
                  {team.usedThisQuarter} of {team.budget} used
                </span>
              </div>
              <div className={`bar ${barClass}`} role="meter" aria-label="team bypass budget" aria-valuemin={0} aria-valuemax={team.budget} aria-valuenow={team.usedThisQuarter}>
                <div style={{ width: `${Math.min(100, share * 100)}%` }} />
              </div>
              {share >= 1 ? (
                <div className="flag" style={{ marginTop: 8 }}>
                  Over budget this quarter: the team is flagged for review.
                </div>
              ) : null}
              <RecentList recent={team.recent} currentId={requestId} label="team's recent requests" showRequester />
            </>
          ) : (
            <p className="muted">No team history available.</p>
          )}
        </div>
      </section>
      <section className="panel" aria-label="gate history">
        <div className="panel-head">
          <h3>Gate</h3>
          <span className="mono">{history.gate?.id ?? 'unknown'}</span>
        </div>
        <div className="panel-body">
          {history.gate ? (
            <>
              <Counts counts={history.gate.counts} label="gate" />
              {history.gate.frequentlyBypassed ? (
                <div className="flag" style={{ marginTop: 10 }} role="note" aria-label="gate flag">
                  <strong>Bypassed often: consider fixing the gate.</strong> A gate people routinely route around is no longer protecting anything.
                </div>
              ) : null}
            </>
          ) : (
            <p className="muted">No gate history available.</p>
          )}
        </div>
      </section>
    </div>
  );
}
