import { useState, type ReactNode } from 'react';
import { ttlToMs, type Ttl } from '../../../shared/domain/ttl';
import type { BypassRequest } from '../../../shared/domain/request';
import type { ChannelOutput, GateInfo, Session } from '../../../shared/ipc/contract';
import { useChannelMutation } from '../../bridge/queries';
import { GateKindBadge, TierBadge } from '../../components/badges';
import { Dialog } from '../../components/dialog';
import { ErrorNotice, fieldError } from '../../components/error-notice';
import { ScopeChips } from '../../components/scope-chips';
import { useNow } from '../../components/use-now';
import { formatLocal, formatUtc } from '../../lib/time';

/** Same minimum the contract enforces for deny / ask / revoke; checked here to guide, not to guard. */
const MIN_DECISION_COMMENT = 5;

function SigningNote({ session, pending }: { session: Session; pending: boolean }) {
  const key = session.key;
  if (!key) return <div className="notice warn">No signing key is set up: run setup first.</div>;
  if (!pending) {
    return (
      <p className="muted" style={{ fontSize: 12, margin: '10px 0 0' }}>
        Signed locally with{' '}
        {key.hardwareBacked ? `the hardware key on token ${key.pkcs11?.tokenLabel ?? ''}` : key.file ? `the key file ${key.file.path} (software-file signer, not protected by the OS keychain)` : 'your software key'} (
        <span className="mono">{key.keyId.slice(0, 16)}…</span>) before it is sent.
        {key.hardwareBacked ? ' The console host asks for the token PIN in its own window.' : ''}
      </p>
    );
  }
  return (
    <div className="notice info" role="status" aria-label="signing" style={{ marginTop: 10 }}>
      {key.hardwareBacked ? `Signing: enter the PIN of token ${key.pkcs11?.tokenLabel ?? ''} in the PIN window…` : 'Signing and sending…'}
    </div>
  );
}

type DecisionResult = ChannelOutput<'console:main:approve'>;

const DECISION_WORD = { approve: 'Approve', deny: 'Deny', ask: 'Ask the requester for context (request info)', revoke: 'Revoke the active bypass' } as const;

/**
 * What the signature covers, in the words the approver is held to: the decision, the request id,
 * the gate and its kind, the scope, the requester, and the request digest the core will refuse to
 * sign over if the store's copy changed since (the renderer passes this same digest).
 */
function SignedSummary({ kind, request, gate, children }: { kind: keyof typeof DECISION_WORD; request: BypassRequest; gate: GateInfo | null; children?: ReactNode }) {
  return (
    <dl className="facts" aria-label="what you sign">
      <dt>Decision</dt>
      <dd>
        <strong>{DECISION_WORD[kind]}</strong>
      </dd>
      <dt>Request</dt>
      <dd className="mono">{request.id}</dd>
      <dt>Gate</dt>
      <dd className="row" style={{ gap: 6, flexWrap: 'wrap' }}>
        <span className="mono" style={{ fontWeight: 600 }}>
          {request.gate}
        </span>
        <GateKindBadge kind={gate?.kind ?? request.gateKind} />
        <TierBadge tier={request.tier} />
      </dd>
      <dt>Scope</dt>
      <dd>
        <ScopeChips scope={request.scope} wrap />
      </dd>
      <dt>Requester</dt>
      <dd>
        {request.requester} <span className="muted">(team {request.team})</span>
      </dd>
      {children}
      <dt>Request digest</dt>
      <dd className="mono digest" aria-label="request digest">
        {request.digest}
      </dd>
    </dl>
  );
}

export function ApproveDialog({
  request,
  gate,
  ttlChoices,
  session,
  onClose,
  onDone,
}: {
  request: BypassRequest;
  gate: GateInfo | null;
  ttlChoices: Ttl[];
  session: Session;
  onClose(): void;
  onDone(result: DecisionResult): void;
}) {
  const approve = useChannelMutation('console:main:approve');
  const now = useNow();
  const choices = ttlChoices.length ? ttlChoices : [request.ttl];
  const [ttl, setTtl] = useState<Ttl>(choices.includes(request.ttl) ? request.ttl : choices[choices.length - 1]!);
  const [comment, setComment] = useState('');
  const approvalsAfter = request.approvals.length + 1;
  const activates = approvalsAfter >= request.approvalsRequired;
  const expiresAt = now + ttlToMs(ttl);

  return (
    <Dialog
      label="Confirm approval"
      title={`Approve bypass of ${request.gate}?`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose} disabled={approve.isPending}>
            Cancel
          </button>
          <button
            type="button"
            className="btn primary"
            disabled={approve.isPending}
            onClick={() => approve.mutate({ id: request.id, digest: request.digest, ttl, comment }, { onSuccess: onDone })}
          >
            {approve.isPending ? 'Signing…' : 'Sign and approve'}
          </button>
        </>
      }
    >
      {gate?.kind === 'safety' ? (
        <div className="safety-callout">
          <span aria-hidden="true">⚠</span>
          <span>
            <strong>Safety gate.</strong> This gate protects signing, secrets or provenance. Approve only for a real incident.
          </span>
        </div>
      ) : null}
      <SignedSummary kind="approve" request={request} gate={gate}>
        <dt>
          <label htmlFor="approve-ttl">TTL</label>
        </dt>
        <dd>
          <select id="approve-ttl" className="select mono" value={ttl} onChange={(e) => setTtl(e.target.value)} aria-label="TTL to grant">
            {choices.map((c) => (
              <option key={c} value={c}>
                {c}
                {c === request.ttl ? ' (asked)' : ''}
              </option>
            ))}
          </select>
          <span className="muted" style={{ marginLeft: 8 }}>
            at most the {request.ttl} asked
          </span>
        </dd>
        <dt>Expires</dt>
        <dd aria-label="expiry time">
          {activates ? (
            <>
              <strong className="mono">{formatUtc(expiresAt)}</strong>
              <div className="mono muted">{formatLocal(expiresAt)}</div>
              <div className="muted" style={{ fontSize: 12 }}>
                Your approval {request.approvalsRequired > 1 ? `is ${approvalsAfter} of ${request.approvalsRequired} and ` : ''}activates the bypass now; it ends by itself at this time.
              </div>
            </>
          ) : (
            <>
              <strong>{ttl} after activation</strong>
              <div className="muted" style={{ fontSize: 12 }}>
                This is approval {approvalsAfter} of {request.approvalsRequired}: the bypass activates when another approver approves. If that happened now it would expire at{' '}
                <span className="mono">{formatUtc(expiresAt)}</span> (<span className="mono">{formatLocal(expiresAt)}</span>).
              </div>
            </>
          )}
        </dd>
      </SignedSummary>
      <div className="field" style={{ marginTop: 12 }}>
        <label htmlFor="approve-comment">Comment (optional, recorded in the ledger)</label>
        <textarea id="approve-comment" className="textarea" value={comment} onChange={(e) => setComment(e.target.value)} />
      </div>
      <ErrorNotice error={approve.error} title="Approval refused" />
      <SigningNote session={session} pending={approve.isPending} />
    </Dialog>
  );
}

type TextDecision = 'deny' | 'ask' | 'revoke';

const TEXT_DECISION = {
  deny: { title: 'Deny request', label: 'Reason for denial (required)', button: 'Sign and deny', channel: 'console:main:deny', field: 'comment', className: 'btn danger-solid' },
  ask: { title: 'Ask the requester for context', label: 'Your question (sent to the requester)', button: 'Sign and send', channel: 'console:main:ask', field: 'message', className: 'btn primary' },
  revoke: { title: 'Revoke active bypass', label: 'Why revoke now (required)', button: 'Sign and revoke', channel: 'console:main:revoke', field: 'comment', className: 'btn danger-solid' },
} as const;

export function TextDecisionDialog({
  kind,
  request,
  gate,
  session,
  onClose,
  onDone,
}: {
  kind: TextDecision;
  request: BypassRequest;
  gate: GateInfo | null;
  session: Session;
  onClose(): void;
  onDone(result: DecisionResult): void;
}) {
  const spec = TEXT_DECISION[kind];
  const deny = useChannelMutation('console:main:deny');
  const ask = useChannelMutation('console:main:ask');
  const revoke = useChannelMutation('console:main:revoke');
  const mutation = kind === 'deny' ? deny : kind === 'ask' ? ask : revoke;
  const [text, setText] = useState('');
  const tooShort = text.trim().length < MIN_DECISION_COMMENT;
  const submit = () => {
    const done = { onSuccess: onDone };
    const digest = request.digest;
    if (kind === 'deny') deny.mutate({ id: request.id, digest, comment: text }, done);
    else if (kind === 'ask') ask.mutate({ id: request.id, digest, message: text }, done);
    else revoke.mutate({ id: request.id, digest, comment: text }, done);
  };
  const err = mutation.error;
  return (
    <Dialog
      label={spec.title}
      title={spec.title}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose} disabled={mutation.isPending}>
            Cancel
          </button>
          <button type="button" className={spec.className} onClick={submit} disabled={mutation.isPending || tooShort}>
            {mutation.isPending ? 'Signing…' : spec.button}
          </button>
        </>
      }
    >
      <SignedSummary kind={kind} request={request} gate={gate}>
        {kind === 'revoke' && request.expiresAt ? (
          <>
            <dt>Active until</dt>
            <dd>
              <span className="mono">{formatUtc(request.expiresAt)}</span>
              <div className="mono muted">{formatLocal(request.expiresAt)}</div>
              <div className="muted" style={{ fontSize: 12 }}>
                Revoking ends it immediately and the gate blocks again.
              </div>
            </dd>
          </>
        ) : null}
      </SignedSummary>
      <div className="field">
        <label htmlFor="decision-text">{spec.label}</label>
        <textarea id="decision-text" className="textarea" value={text} onChange={(e) => setText(e.target.value)} aria-invalid={Boolean(fieldError(err, spec.field))} data-autofocus />
        {fieldError(err, spec.field) ? <span className="error">{fieldError(err, spec.field)}</span> : <span className="hint">At least {MIN_DECISION_COMMENT} characters; recorded in the ledger with your signature.</span>}
      </div>
      <ErrorNotice error={err} title="Refused" shownInline={[spec.field]} />
      <SigningNote session={session} pending={mutation.isPending} />
    </Dialog>
  );
}
