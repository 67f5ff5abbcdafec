import { useEffect, useRef, useState } from 'react';
import type { ChannelOutput, Session } from '../../../shared/ipc/contract';
import { keyHardwareLabel } from '../../../shared/domain/identity';
import { useSession } from '../../app/use-session';
import { useUi } from '../../app/ui-store';
import { routeById } from '../../app/routes';
import { useChannel, useChannelMutation } from '../../bridge/queries';
import { GateKindBadge, SeverityBadge, StateBadge, TierBadge } from '../../components/badges';
import { ErrorNotice } from '../../components/error-notice';
import { ScopeChips } from '../../components/scope-chips';
import { Age, Countdown, SlaTimer } from '../../components/timers';
import { allowedIncidentUrl } from '../../lib/links';
import { formatUtc } from '../../lib/time';
import { ApproveDialog, TextDecisionDialog } from './decision-dialogs';
import { HistoryPanel } from './history-panel';
import { budgetText } from '../../../shared/policy/budget';
import { decisionsBlockedWhy, STORE_UNREACHABLE_WHY } from '../../app/decisions-blocked';

type Detail = ChannelOutput<'console:main:get-request'>;
type OpenDialog = null | 'approve' | 'deny' | 'ask' | 'revoke';

function IncidentRef({ value, session }: { value: string | null; session: Session }) {
  const open = useChannelMutation('console:main:open-external', []);
  if (!value) return <span className="muted">none</span>;
  const url = allowedIncidentUrl(value, session.linkHosts);
  if (!url) return <span className="mono">{value}</span>;
  return (
    <>
      <a
        href={url}
        className="mono"
        onClick={(e) => {
          e.preventDefault();
          // Main checks the host against the policy's allow-list; Electron opens it in the system
          // browser, the browser host hands the checked URL back for us to open without an opener.
          open.mutate(
            { url },
            { onSuccess: (result) => void (result.opened || window.open(result.url, '_blank', 'noopener,noreferrer')) },
          );
        }}
        rel="noreferrer"
      >
        {value} ↗
      </a>
      <span className="muted" style={{ marginLeft: 6, fontSize: 12 }}>
        opens in your browser
      </span>
      <ErrorNotice error={open.error} />
    </>
  );
}

/** "you filed this request: no self-approval" → "You filed this request: no self-approval." */
const sentence = (text: string | null) => (text ? `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}` : '');
/** Two refusals with the same cause before the colon ("you filed this request: …") are said once. */
const sameCause = (a: string | null, b: string | null) => Boolean(a && b && a.split(':')[0] === b.split(':')[0]);

/** Why I cannot act right now when that is the normal course of things, not a refusal: said neutrally. */
function waitingNote(detail: Detail, me: string | null): string | null {
  const { request, approvers } = detail;
  if (!me) return null;
  if (request.state === 'pending' && request.approvals.some((a) => a.approver === me)) {
    const approved = new Set(request.approvals.map((a) => a.approver));
    const left = approvers.filter((a) => a !== request.requester && !approved.has(a));
    return `You approved · ${request.approvals.length} of ${request.approvalsRequired} · waiting on ${left.length ? left.join(', ') : 'another eligible approver'}.`;
  }
  if (request.state === 'needs_info') {
    const mine = [...request.messages].reverse().find((m) => m.kind === 'question');
    const who = mine && mine.from === me ? 'your question' : 'the question asked';
    return `Waiting for ${request.requester} to answer ${who}. Approve becomes available again when they reply; you can still deny.`;
  }
  return null;
}

function Actions({ detail, session, onOpen, confirmed = false }: { detail: Detail; session: Session; onOpen(d: OpenDialog): void; confirmed?: boolean }) {
  const { request, canApprove, canDecide, data } = detail;
  // Offline (or reading the local copy), the store halted its ledger, the token rejected: nothing can be decided.
  const offlineWhy = data.source === 'mirror' ? STORE_UNREACHABLE_WHY : decisionsBlockedWhy(session);
  const offline = offlineWhy !== null;
  const decidable = request.state === 'pending' || request.state === 'needs_info';
  const revocable = request.state === 'active' && !(request.expiresAt && Date.parse(request.expiresAt) <= Date.now());
  if (!decidable && !revocable) {
    const expired = request.state === 'active' && request.expiresAt;
    return (
      <p className="muted" style={{ margin: 0 }}>
        This request is <strong>{expired ? 'expired' : request.state.replace('_', ' ')}</strong>
        {expired ? ` (ended ${formatUtc(request.expiresAt!)})` : request.closedBy ? ` (by ${request.closedBy}${request.closedAt ? ` at ${formatUtc(request.closedAt)}` : ''})` : ''}: nothing left to decide.
      </p>
    );
  }
  const waiting = decidable ? waitingNote(detail, session.principal) : null;
  return (
    <div className="stack" style={{ gap: 10 }}>
      {offline ? (
        <div className="notice warn" role="note" aria-label="actions disabled">
          {offlineWhy}
        </div>
      ) : null}
      {/* The normal course of things (I approved, waiting on others; waiting for an answer) is said neutrally. */}
      {!offline && waiting && !confirmed ? (
        <div className="notice info" role="note" aria-label="waiting">
          {waiting}
        </div>
      ) : null}
      {/* Offline, the one reason that matters is the store; otherwise say exactly why not. */}
      {decidable && !offline && !waiting && !canApprove.allowed ? (
        <div className="notice error" role="note" aria-label="cannot approve">
          <strong>You cannot approve this request.</strong> {sentence(canApprove.reason)}
          {!canDecide.allowed && sameCause(canApprove.reason, canDecide.reason) ? ' You cannot deny it or ask for context either.' : ''}
          {/hardware-backed key/.test(canApprove.reason ?? '') ? ` Approvers who may decide it: ${detail.approvers.filter((a) => a !== session.principal).join(', ') || 'none listed'} (each with an enrolled hardware key).` : ''}
        </div>
      ) : null}
      {!offline && !canDecide.allowed && !(decidable && !canApprove.allowed && sameCause(canApprove.reason, canDecide.reason)) ? (
        <div className="notice warn" role="note" aria-label="cannot decide">
          {sentence(canDecide.reason)}
        </div>
      ) : null}
      <div className="actions">
        {decidable ? (
          <>
            <button
              type="button"
              className="btn primary"
              disabled={offline || !canApprove.allowed}
              title={offlineWhy ?? waiting ?? canApprove.reason ?? undefined}
              onClick={() => onOpen('approve')}
            >
              Approve…
            </button>
            <button type="button" className="btn danger" disabled={offline || !canDecide.allowed} title={offlineWhy ?? undefined} onClick={() => onOpen('deny')}>
              Deny…
            </button>
            {request.state === 'pending' ? (
              <button type="button" className="btn" disabled={offline || !canDecide.allowed} title={offlineWhy ?? undefined} onClick={() => onOpen('ask')}>
                Ask for context…
              </button>
            ) : null}
          </>
        ) : null}
        {revocable ? (
          <button type="button" className="btn danger" disabled={offline || !canDecide.allowed} title={offlineWhy ?? undefined} onClick={() => onOpen('revoke')}>
            Revoke…
          </button>
        ) : null}
      </div>
    </div>
  );
}

type DecisionResult = ChannelOutput<'console:main:approve'>;
const DONE_VERB = { approve: 'approved', deny: 'denied', request_info: 'asked for context on', revoke: 'revoked' } as const;

/** "You approved · 1 of 2 · waiting on carol, erin" + the ledger seq, then the way on to the next request. */
export function confirmationText(result: DecisionResult): string {
  const { request, decision, waitingOn } = result;
  const verb = DONE_VERB[decision.decision];
  if (decision.decision === 'approve') {
    if (request.state === 'pending') {
      return `You approved · ${request.approvals.length} of ${request.approvalsRequired} · waiting on ${waitingOn.length ? waitingOn.join(', ') : 'another eligible approver'}`;
    }
    return `You approved · ${request.approvals.length} of ${request.approvalsRequired} · the bypass is active${request.expiresAt ? ` until ${formatUtc(request.expiresAt)}` : ''}`;
  }
  if (decision.decision === 'request_info') return `You asked ${request.requester} for context · waiting for their answer`;
  return `You ${verb} this request`;
}

function Confirmation({ result, nextId, onNext, onDismiss }: { result: DecisionResult; nextId: string | null; onNext(): void; onDismiss(): void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [result]);
  return (
    <div className="notice ok confirmation" role="status" aria-label="decision recorded" tabIndex={-1} ref={ref}>
      <div>
        <strong>{confirmationText(result)}</strong>
      </div>
      <div className="muted" style={{ fontSize: 12 }}>
        Signed and recorded in the ledger as entry <span className="mono">#{result.decision.seq}</span> at {formatUtc(result.decision.at)}.
      </div>
      <div className="actions" style={{ marginTop: 8 }}>
        {nextId ? (
          <button type="button" className="btn primary" onClick={onNext} aria-keyshortcuts="N">
            Next request <kbd>N</kbd>
          </button>
        ) : (
          <span className="muted">Nothing else is waiting for you.</span>
        )}
        <button type="button" className="btn" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
    </div>
  );
}

function RequestBody({ detail, session }: { detail: Detail; session: Session }) {
  const { request, gate, decisions, approvers, history, data } = detail;
  const [dialog, setDialog] = useState<OpenDialog>(null);
  const [done, setDone] = useState<DecisionResult | null>(null);
  const openRequest = useUi((s) => s.openRequest);
  const gateKind = gate?.kind ?? request.gateKind;
  const inbox = useChannel('console:main:list-inbox', {}, { enabled: Boolean(done) });
  const nextId = inbox.data?.items.find((item) => item.request.id !== request.id)?.request.id ?? null;
  const goNext = () => {
    if (!nextId) return;
    setDone(null);
    openRequest(nextId);
  };
  // "N" opens the next request while the confirmation shows (not while typing in a field).
  useEffect(() => {
    if (!done || !nextId) return undefined;
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (e.key.toLowerCase() !== 'n' || e.ctrlKey || e.metaKey || e.altKey || target?.closest('input, textarea, select, [contenteditable]')) return;
      e.preventDefault();
      goNext();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  });
  const finished = (result: DecisionResult) => {
    setDialog(null);
    setDone(result);
  };
  return (
    <>
      <div className="req-title" style={{ marginBottom: 14 }} role="group" aria-label="request summary">
        <SeverityBadge severity={request.severity} />
        <h1 className="mono">{request.gate}</h1>
        <GateKindBadge kind={gateKind} />
        <TierBadge tier={request.tier} />
        <StateBadge state={request.state} />
        <span className="muted mono" style={{ fontSize: 12 }}>
          {request.id}
        </span>
        {data.source === 'mirror' ? <span className="badge sw">local copy{data.asOf ? ` as of ${formatUtc(data.asOf)}` : ''}</span> : null}
      </div>
      {gateKind === 'safety' ? (
        <div className="safety-callout" role="note" aria-label="safety gate warning">
          <span aria-hidden="true">⚠</span>
          <span>
            <strong>Safety gate</strong>: {gate?.description ?? 'it protects signing, secrets or provenance'}. A bypass here removes a security control, not just a slow check.
            {gate?.hardwareKeyRequired ? ' Approvals must be signed with a hardware-backed key.' : ''}
          </span>
        </div>
      ) : null}
      <div className="grid-2">
        <div className="stack">
          <section className="panel" aria-label="request details">
            <div className="panel-head">
              <h3>Reason</h3>
              <span className="muted">
                filed {formatUtc(request.createdAt)} · <Age since={request.createdAt} /> ago
              </span>
            </div>
            <div className="panel-body">
              <p className="reason" aria-label="reason">
                {request.reason}
              </p>
            </div>
            <div className="panel-body" style={{ borderTop: '1px solid var(--border-muted)' }}>
              <dl className="facts">
                <dt>Requester</dt>
                <dd>
                  <strong>{request.requester}</strong> <span className="muted">team {request.team}</span>
                  {request.budget?.over ? (
                    <>
                      {' '}
                      <span className="badge over-budget" role="note" aria-label="team over budget" title={budgetText(request.team, request.budget)}>
                        over budget · {request.budget.used} of {request.budget.budget} in {request.budget.quarter}
                      </span>
                    </>
                  ) : null}
                </dd>
                <dt>Incident</dt>
                <dd aria-label="incident reference">
                  <IncidentRef value={request.incidentRef} session={session} />
                </dd>
                <dt>Scope</dt>
                <dd>
                  <ScopeChips scope={request.scope} wrap />
                </dd>
                <dt>TTL asked</dt>
                <dd className="mono">
                  {request.ttl}
                  {gate ? <span className="muted"> (tier max {gate.maxTtl})</span> : null}
                </dd>
                {request.state === 'pending' || request.state === 'needs_info' ? (
                  <>
                    <dt>Decision due</dt>
                    <dd>
                      <SlaTimer createdAt={request.createdAt} incidentRef={request.incidentRef} />
                      <span className="muted" style={{ fontSize: 12 }}>
                        {' '}
                        · {request.incidentRef ? '15-minute target for incident-flagged requests' : 'one business day target'}
                      </span>
                    </dd>
                  </>
                ) : null}
                {request.state === 'active' && request.expiresAt ? (
                  <>
                    <dt>Expires</dt>
                    <dd>
                      <span className="mono">{formatUtc(request.expiresAt)}</span> · <Countdown expiresAt={request.expiresAt} /> left
                    </dd>
                  </>
                ) : null}
                <dt>Approvals</dt>
                <dd aria-label="approvals">
                  <span className="mono">
                    {request.approvals.length} of {request.approvalsRequired}
                  </span>
                  {request.approvals.length ? <span className="muted"> · {request.approvals.map((a) => `${a.approver} (${a.ttl}${a.hardwareBacked ? `, hardware key ${keyHardwareLabel(a)}` : ''})`).join(', ')}</span> : null}
                </dd>
                <dt>May approve</dt>
                <dd className="muted">{approvers.length ? approvers.join(', ') : 'nobody (check the policy)'}</dd>
                <dt>Request digest</dt>
                <dd className="mono" style={{ fontSize: 11.5 }}>
                  {request.digest}
                </dd>
                {request.extends ? (
                  <>
                    <dt>Extends</dt>
                    <dd>
                      <button type="button" className="btn link mono" onClick={() => openRequest(request.extends!)}>
                        {request.extends}
                      </button>
                      <span className="muted"> (a new window, approved like any other; the old one still ends on time)</span>
                    </dd>
                  </>
                ) : null}
                {request.standingScope ? (
                  <>
                    <dt>Standing scope</dt>
                    <dd className="mono">{request.standingScope}</dd>
                  </>
                ) : null}
              </dl>
            </div>
          </section>
          <section className="panel" aria-label="actions">
            <div className="panel-head">
              <h3>Decision</h3>
            </div>
            <div className="panel-body stack" style={{ gap: 10 }}>
              {done && done.request.id === request.id ? <Confirmation result={done} nextId={nextId} onNext={goNext} onDismiss={() => setDone(null)} /> : null}
              <Actions detail={detail} session={session} onOpen={setDialog} confirmed={Boolean(done && done.request.id === request.id)} />
            </div>
          </section>
          {request.messages.length || decisions.length ? (
            <section className="panel" aria-label="activity">
              <div className="panel-head">
                <h3>Activity</h3>
              </div>
              <div className="panel-body">
                <ul className="timeline">
                  {[
                    ...request.messages
                      .filter((m) => !(m.kind === 'question' && decisions.some((d) => d.decision === 'request_info' && d.approver === m.from && d.comment === m.text)))
                      .map((m) => ({ at: m.at, key: `m${m.at}${m.from}`, text: `${m.from} ${m.kind === 'question' ? 'asked' : m.kind === 'reply' ? 'replied' : 'commented'}: ${m.text}` })),
                    ...decisions.map((d) => ({
                      at: d.at,
                      key: `d${d.seq}`,
                      text: `${d.approver} signed ${d.decision.replace('_', ' ')}${d.ttl ? ` (${d.ttl})` : ''}${d.comment ? `: ${d.comment}` : ''} · key ${d.keyId.slice(0, 12)}… · ledger #${d.seq}`,
                    })),
                  ]
                    .sort((a, b) => (a.at < b.at ? -1 : 1))
                    .map((item) => (
                      <li key={item.key}>
                        <div className="t">{formatUtc(item.at)}</div>
                        <div>{item.text}</div>
                      </li>
                    ))}
                </ul>
              </div>
            </section>
          ) : null}
        </div>
        <HistoryPanel history={history} requestId={request.id} />
      </div>
      {dialog === 'approve' ? <ApproveDialog request={request} gate={gate} ttlChoices={detail.ttlChoices} session={session} onClose={() => setDialog(null)} onDone={finished} /> : null}
      {dialog === 'deny' || dialog === 'ask' || dialog === 'revoke' ? (
        <TextDecisionDialog kind={dialog} request={request} gate={gate} session={session} onClose={() => setDialog(null)} onDone={finished} />
      ) : null}
    </>
  );
}

export function RequestScreen() {
  const id = useUi((s) => s.requestId);
  const returnTo = useUi((s) => s.returnTo);
  const navigate = useUi((s) => s.navigate);
  const session = useSession().data;
  const detail = useChannel('console:main:get-request', { id: id ?? '' }, { enabled: Boolean(id), refetchInterval: 15_000 });
  const back = routeById(returnTo);
  return (
    <>
      <div className="crumbs muted" style={{ marginBottom: 8, fontSize: 12 }}>
        <button type="button" className="btn link" onClick={() => navigate(returnTo)}>
          ← {back?.label ?? 'Back'}
        </button>
        <span> / </span>
        <span className="mono">{id}</span>
      </div>
      <ErrorNotice error={detail.error} showingCopy={!!detail.data} title="Could not load the request" />
      {detail.isPending && id ? <div className="empty">Loading…</div> : null}
      {detail.data && session ? <RequestBody detail={detail.data} session={session} /> : null}
    </>
  );
}
