import type { ApproversReport, DecisionTimeClass, Finding, GatesReport, ReviewsReport, TeamsReport } from '../../../shared/domain/reports';
import { ErrorNotice } from '../../components/error-notice';
import { formatUtc } from '../../lib/time';
import { formatDuration, formatPercent } from './format';
import { useHealth } from './use-health';
import { WeeklyBypassChart } from './weekly-chart';

/**
 * Gate health (issue 7): the ledger read as telemetry. A gate that is bypassed often is a bug
 * report against the gate; the screen leads with the findings that say "fix the gate".
 */
export function GateHealthScreen() {
  const health = useHealth();
  const report = health.data?.report;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Gate health</h1>
          <p>How often each gate is broken is the most honest review it gets. Frequent bypass of one gate means: fix the gate, not the people.</p>
        </div>
        {report ? <span className="muted mono">as of {formatUtc(report.now)}{health.data?.data.source === 'mirror' ? ' (offline copy)' : ''}</span> : null}
      </div>
      <ErrorNotice error={health.error} showingCopy={!!health.data} title="Could not load gate health" />
      {report ? (
        <div className="stack">
          <FindingsPanel findings={report.findings.findings} />
          <section className="panel" aria-label="bypasses per gate over time">
            <div className="panel-head">
              <h3>Bypasses per gate, per week</h3>
              <span className="muted">last 12 ISO weeks (UTC)</span>
            </div>
            <div className="panel-body">
              <WeeklyBypassChart weekly={report.weekly} />
            </div>
          </section>
          <GatesPanel gates={report.gates} />
          <div className="grid-2">
            <TeamsPanel teams={report.teams} />
            <DecisionTimesPanel incident={report.decisionTimes.incident} other={report.decisionTimes.other} />
          </div>
          <div className="grid-2">
            <ReviewsPanel reviews={report.reviews} />
            <ApproversPanel approvers={report.approvers} />
          </div>
        </div>
      ) : null}
    </>
  );
}

function FindingsPanel({ findings }: { findings: Finding[] }) {
  return (
    <section className="panel" aria-label="deviance findings">
      <div className="panel-head">
        <h3>Deviance findings</h3>
        <span className="muted">{findings.length === 0 ? 'none' : `${findings.length} to act on`}</span>
      </div>
      <div className="panel-body stack" style={{ gap: 8 }}>
        {findings.length === 0 ? (
          <div className="notice ok">No gate dominates the bypasses, none is bypassed every week, and the trend is not rising.</div>
        ) : (
          findings.map((f) => (
            <div key={f.id} className="notice warn" role="note" aria-label={`finding ${f.kind}${f.gate ? ` ${f.gate}` : ''}`}>
              <div className="row" style={{ justifyContent: 'space-between' }}>
                <strong>Fix the gate{f.gate ? `: ${f.gate}` : 's'}</strong>
                <span className="mono subtle">{f.kind}</span>
              </div>
              <div style={{ marginTop: 4 }}>{f.message}</div>
              <div className="mono muted" style={{ marginTop: 6, fontSize: 11.5 }}>
                evidence: {f.evidence.requestIds.length} request(s) {f.evidence.requestIds.slice(0, 8).join(' ')}
                {f.evidence.requestIds.length > 8 ? ' …' : ''}
              </div>
            </div>
          ))
        )}
      </div>
    </section>
  );
}

function GatesPanel({ gates }: { gates: GatesReport }) {
  return (
    <section className="panel" aria-label="bypasses per gate">
      <div className="panel-head">
        <h3>Per gate</h3>
        <span className="muted">
          {gates.totals.bypasses.d30} bypasses in 30 days · {gates.totals.blocks} blocks counted
        </span>
      </div>
      <table className="table" aria-label="gates">
        <thead>
          <tr>
            <th>Gate</th>
            <th className="right">7 days</th>
            <th className="right">30 days</th>
            <th className="right">90 days</th>
            <th>Share (30 days)</th>
            <th className="right">Requests / blocks</th>
            <th className="right">Checks under bypass (30 days)</th>
          </tr>
        </thead>
        <tbody>
          {gates.gates.map((g) => (
            <tr key={g.gate} aria-label={`gate ${g.gate}`}>
              <td>
                <span className="mono" style={{ fontWeight: 600 }}>
                  {g.gate}
                </span>
                {g.kind ? <span className={`badge gate-${g.kind}`} style={{ marginLeft: 6 }}>{g.kind}</span> : null}
              </td>
              <td className="right mono">{g.bypasses.d7}</td>
              <td className="right mono">{g.bypasses.d30}</td>
              <td className="right mono">{g.bypasses.d90}</td>
              <td style={{ minWidth: 160 }}>
                <div className="row" style={{ flexWrap: 'nowrap' }}>
                  <div className={`bar${(g.shareOfBypasses30d ?? 0) > 0.5 ? ' red' : ''}`} style={{ flex: 1 }}>
                    <div style={{ width: `${Math.round((g.shareOfBypasses30d ?? 0) * 100)}%` }} />
                  </div>
                  <span className="mono">{formatPercent(g.shareOfBypasses30d)}</span>
                </div>
              </td>
              <td className="right mono">
                {g.requestsToBlocks.requests} / {g.requestsToBlocks.blocks}
                {g.requestsToBlocks.ratio !== null ? <span className="muted"> ({g.requestsToBlocks.ratio})</span> : null}
              </td>
              <td className="right mono">{g.evaluationsUnderBypass.d30}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function TeamsPanel({ teams }: { teams: TeamsReport }) {
  return (
    <section className="panel" aria-label="team budgets">
      <div className="panel-head">
        <h3>Team budgets</h3>
        <span className="muted">{teams.quarter}</span>
      </div>
      <table className="table" aria-label="teams">
        <tbody>
          {teams.teams.map((t) => (
            <tr key={t.team} aria-label={`team ${t.team}`}>
              <td className="mono" style={{ fontWeight: 600 }}>
                {t.team}
              </td>
              <td style={{ width: '45%' }}>
                <div className={`bar${t.overBudget ? ' red' : (t.usage ?? 0) >= 0.8 ? ' amber' : ''}`}>
                  <div style={{ width: `${Math.min(100, Math.round((t.usage ?? 0) * 100))}%` }} />
                </div>
              </td>
              <td className="right mono nowrap">
                {t.used} / {t.budget ?? '—'}
              </td>
              <td className="right">{t.overBudget ? <span className="badge state-denied">over budget: review</span> : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function DecisionTimesPanel({ incident, other }: { incident: DecisionTimeClass; other: DecisionTimeClass }) {
  const card = (c: DecisionTimeClass, label: string) => (
    <div className="stat" aria-label={`decision times ${c.class}`}>
      <div className="l">
        {label} · target {formatDuration(c.targetMs)} ({c.clock === 'business' ? 'business time' : 'wall clock'})
      </div>
      <div className="v" style={{ color: c.p90MeetsTarget === false ? 'var(--red)' : undefined }}>
        p50 {formatDuration(c.p50Ms)} · p90 {formatDuration(c.p90Ms)}
      </div>
      <div className="l">
        {c.decided} decided, {formatPercent(c.withinTargetRate)} within target · {c.lapsed} lapsed · {c.waiting} waiting ({c.waitingPastTarget} late)
      </div>
    </div>
  );
  return (
    <section className="panel" aria-label="decision times">
      <div className="panel-head">
        <h3>Time to decision</h3>
        <span className="muted">last 90 days</span>
      </div>
      <div className="panel-body stack" style={{ gap: 8 }}>
        {card(incident, 'Incident-flagged')}
        {card(other, 'Everything else')}
      </div>
    </section>
  );
}

function ReviewsPanel({ reviews }: { reviews: ReviewsReport }) {
  return (
    <section className="panel" aria-label="review backlog">
      <div className="panel-head">
        <h3>Post-bypass reviews</h3>
        <span className="muted">
          {formatPercent(reviews.onTimeRate)} of {reviews.due} due done within {formatDuration(reviews.deadlineMs)}
        </span>
      </div>
      <div className="panel-body">
        <div className="stat-grid">
          <div className="stat">
            <div className="v">{reviews.openOverdue}</div>
            <div className="l">open, overdue</div>
          </div>
          <div className="stat">
            <div className="v">{reviews.openWithinDeadline}</div>
            <div className="l">open, within 7 days</div>
          </div>
          <div className="stat">
            <div className="v">{reviews.completedLate}</div>
            <div className="l">completed late</div>
          </div>
        </div>
      </div>
      {reviews.open.length > 0 ? (
        <table className="table" aria-label="open reviews">
          <tbody>
            {reviews.open.slice(0, 10).map((r) => (
              <tr key={r.reviewId}>
                <td className="mono">{r.requestId}</td>
                <td className="mono">{r.gate}</td>
                <td>{r.team}</td>
                <td className={`right mono${r.overdue ? ' sla-red' : ''}`}>{formatDuration(r.ageMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function ApproversPanel({ approvers }: { approvers: ApproversReport }) {
  return (
    <section className="panel" aria-label="approver groups">
      <div className="panel-head">
        <h3>Approver groups</h3>
        <span className="muted">
          last {approvers.windowDays} days · flags from {approvers.minSample} decisions
        </span>
      </div>
      <table className="table" aria-label="approvers">
        <tbody>
          {approvers.groups.map((g) => (
            <tr key={g.group}>
              <td className="mono">{g.group}</td>
              <td className="right mono">
                {g.approvals} ✓ / {g.denials} ✗
              </td>
              <td className="right mono">{formatPercent(g.approvalRate)}</td>
              <td className="right">
                {g.flag === 'rubber_stamping' ? <span className="badge state-pending">rubber-stamping?</span> : null}
                {g.flag === 'theatre' ? <span className="badge state-denied">theatre?</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
