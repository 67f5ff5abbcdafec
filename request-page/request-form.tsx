import { useMemo, useState } from 'react';
import type { RequestCreated } from '../shared/domain/api';
import { INCIDENT_REQUIRED_SEVERITIES, MIN_REASON_LENGTH, SeveritySchema, type Severity } from '../shared/domain/common';
import type { WhoAmI } from '../shared/domain/identity';
import type { Policy } from '../shared/domain/policy';
import { RequestInputSchema, type RequestInput } from '../shared/domain/request';
import { AppError, fieldErrorsFromZod, type FieldError } from '../shared/errors';
import type { RequestLink } from '../shared/gates/request-link';
import { checkRequestAgainstPolicy } from '../shared/policy/request-validation';
import { resolveGate } from '../shared/policy/tier-resolution';
import { GateKindBadge, TierBadge } from '../renderer/components/badges';
import { ErrorNotice, fieldError } from '../renderer/components/error-notice';
import { ScopeChips } from '../renderer/components/scope-chips';
import { SEVERITY_LABEL } from '../renderer/lib/severity';
import { gateRules, ttlChoicesFor } from './gate-rules';
import { api } from './store-api';

const SEVERITIES = SeveritySchema.options;
const isLink = (value: string) => /^https:\/\/[^\s]+$/.test(value);

/**
 * The pre-filled request: what was blocked (gate, rule, scope, CI context) as the link said it,
 * the gate's rules, and the requester's part: a TTL from the gate's tier, severity, incident
 * and reason. Checked here with the same shared rules the store applies, then filed.
 */
export function RequestForm({ link, me, policy, onFiled }: { link: RequestLink; me: WhoAmI; policy: Policy; onFiled: (id: string) => void }) {
  const resolved = resolveGate(policy, link.gate);
  const choices = useMemo(() => (resolved ? ttlChoicesFor(policy, resolved) : []), [policy, resolved]);
  const [ttl, setTtl] = useState<string>(() => choices.find((t) => t === '1h') ?? choices[0] ?? '');
  const [severity, setSeverity] = useState<Severity>('sev3');
  const [incidentRef, setIncidentRef] = useState(() => link.context.incident ?? '');
  const [reason, setReason] = useState('');
  /** What the store said about the last submission (refusals the page could not know about). */
  const [storeError, setStoreError] = useState<AppError | null>(null);
  /** After a first submit attempt, the fields are checked as they are edited. */
  const [attempted, setAttempted] = useState(false);
  const [busy, setBusy] = useState(false);

  if (!resolved) {
    return <ErrorNotice error={new AppError('invalid_input', `this store has no gate "${link.gate}" (gates: ${policy.gates.map((g) => g.id).join(', ')}): the link is from another store or an old policy`)} />;
  }
  if (!me.roles.includes('requester')) {
    return <ErrorNotice error={new AppError('forbidden', `${me.principal} cannot file requests (roles: ${me.roles.join(', ')}): sign in as a requester`)} />;
  }

  const input: RequestInput = { gate: link.gate, scope: link.scope, reason, severity, ttl, ...(incidentRef.trim() ? { incidentRef: incidentRef.trim() } : {}) };
  const validate = (): FieldError[] => {
    const parsed = RequestInputSchema.safeParse(input);
    if (!parsed.success) return fieldErrorsFromZod(parsed.error);
    return checkRequestAgainstPolicy(policy, parsed.data, me.team ?? '', new Date()).errors;
  };

  const localErrors = attempted ? validate() : [];
  const error = localErrors.length > 0 ? new AppError('invalid_input', 'check the highlighted fields', { fieldErrors: localErrors }) : storeError;

  const submit = async () => {
    setAttempted(true);
    setStoreError(null);
    if (validate().length > 0) return;
    setBusy(true);
    try {
      const created = await api<RequestCreated>('POST', '/v1/requests', input);
      onFiled(created.request.id);
    } catch (e) {
      setStoreError(e instanceof AppError ? e : new AppError('internal', String(e)));
    } finally {
      setBusy(false);
    }
  };

  const visibleLength = [...reason.trim()].length;
  const contextEntries = Object.entries(link.context);
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>
            Request a bypass of <span className="mono">{link.gate}</span>
          </h1>
          <p>Pre-filled from the block you hit. Read it, pick how long, say why; approvers decide, and the bypass ends on its own.</p>
        </div>
        <div className="row">
          <GateKindBadge kind={resolved.gate.kind} />
          <TierBadge tier={resolved.tierName} />
        </div>
      </div>
      <div className="rp-cols">
        <form
          className="panel"
          aria-label="request"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <div className="panel-head">
            <h2>Your request</h2>
          </div>
          <div className="panel-body">
            <div className="field">
              <span className="label" id="ttl-label">
                How long
              </span>
              <div className="rp-ttls" role="radiogroup" aria-labelledby="ttl-label">
                {choices.map((t) => (
                  <label className="radio-card" key={t}>
                    <input type="radio" name="ttl" value={t} checked={ttl === t} onChange={() => setTtl(t)} />
                    <span>
                      <strong className="mono">{t}</strong>
                      {t === resolved.tier.maxTtl ? <span className="muted">tier maximum</span> : null}
                    </span>
                  </label>
                ))}
              </div>
              <span className="hint">
                Only what tier {resolved.tierName} allows (at most {resolved.tier.maxTtl}).
              </span>
              {fieldError(error, 'ttl') ? <span className="error">{fieldError(error, 'ttl')}</span> : null}
            </div>
            <div className="field">
              <span className="label" id="sev-label">
                Severity
              </span>
              <div className="seg" role="tablist" aria-labelledby="sev-label">
                {SEVERITIES.map((s) => (
                  <button key={s} type="button" role="tab" aria-selected={severity === s} title={SEVERITY_LABEL[s]} onClick={() => setSeverity(s)}>
                    {s}
                  </button>
                ))}
              </div>
            </div>
            <div className="field">
              <label htmlFor="incident">Incident {INCIDENT_REQUIRED_SEVERITIES.includes(severity) ? '(required)' : '(optional)'}</label>
              <input id="incident" className="input mono" value={incidentRef} onChange={(e) => setIncidentRef(e.target.value)} placeholder="INC-1190" aria-invalid={fieldError(error, 'incidentRef') ? true : undefined} />
              {fieldError(error, 'incidentRef') ? <span className="error">{fieldError(error, 'incidentRef')}</span> : null}
            </div>
            <div className="field">
              <label htmlFor="reason">Reason</label>
              <textarea id="reason" className="textarea" rows={5} value={reason} onChange={(e) => setReason(e.target.value)} placeholder="What is broken, why the gate must be bypassed, and how you will put it right" aria-invalid={fieldError(error, 'reason') ? true : undefined} />
              <span className={`rp-count${visibleLength < MIN_REASON_LENGTH ? ' short' : ''}`}>
                {visibleLength}/{MIN_REASON_LENGTH} characters at least
              </span>
              {fieldError(error, 'reason') ? <span className="error">{fieldError(error, 'reason')}</span> : null}
            </div>
            <ErrorNotice error={error} title="Not filed" shownInline={['ttl', 'incidentRef', 'reason']} />
            <div className="row" style={{ marginTop: 12 }}>
              <button type="submit" className="btn primary" disabled={busy}>
                {busy ? 'Filing…' : `Request ${ttl} bypass`}
              </button>
              <span className="muted">As {me.principal}. Nothing is bypassed until approved.</span>
            </div>
          </div>
        </form>
        <div className="stack">
          <section className="panel" aria-label="what was blocked">
            <div className="panel-head">
              <h2>What was blocked</h2>
            </div>
            <div className="panel-body">
              <dl className="facts rp-context">
                <dt>Gate</dt>
                <dd className="mono">{link.gate}</dd>
                {link.rule ? (
                  <>
                    <dt>Rule</dt>
                    <dd>{link.rule}</dd>
                  </>
                ) : null}
                <dt>Scope</dt>
                <dd>
                  <ScopeChips scope={link.scope} wrap />
                </dd>
                {contextEntries.map(([k, v]) => (
                  <FragmentRow key={k} name={k} value={v} />
                ))}
              </dl>
            </div>
          </section>
          <section className="panel" aria-label="rules">
            <div className="panel-head">
              <h2>The rules for this gate</h2>
            </div>
            <div className="panel-body">
              <ul className="rp-rules">
                {gateRules(policy, resolved, me.team).map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            </div>
          </section>
        </div>
      </div>
    </div>
  );
}

function FragmentRow({ name, value }: { name: string; value: string }) {
  return (
    <>
      <dt>{name}</dt>
      <dd className="mono">
        {isLink(value) ? (
          <a href={value} target="_blank" rel="noreferrer noopener">
            {value}
          </a>
        ) : (
          value
        )}
      </dd>
    </>
  );
}
