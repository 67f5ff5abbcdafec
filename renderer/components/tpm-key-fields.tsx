import type { SessionKey, TpmStatus } from '../../shared/ipc/contract';
import type { AppError } from '../../shared/errors';
import { tpmAnchor, type TpmKeyState } from '../lib/tpm-key-choice';
import { useChannelMutation } from '../bridge/queries';
import { formatUtc } from '../lib/time';
import { CopyButton } from './copy-button';
import { ErrorNotice, fieldError } from './error-notice';
import { useNow } from './use-now';

/**
 * The fields of a TPM key: make a new one or use one already there, the attestation key that
 * certifies it, and what vouches for that attestation key: the TPM's endorsement key (offered
 * first where the TPM has an EK certificate; the store's challenge is answered by the TPM) or a
 * certificate from the attestation CA (the weaker fallback). Setup and Settings' "Add hardware
 * key" both ask for it; `idPrefix` keeps their element ids apart.
 */
export function TpmKeyFields({ idPrefix: p, status, state, setState, error }: { idPrefix: string; status: TpmStatus; state: TpmKeyState; setState: (next: TpmKeyState) => void; error: AppError | null }) {
  const set = (patch: Partial<TpmKeyState>) => setState({ ...state, ...patch });
  const akHandle = state.akHandle || status.attestationKeys[0] || '';
  const anchor = tpmAnchor(state, status);
  return (
    <>
      <p className="muted" style={{ marginTop: 0 }}>
        TPM reached through <span className="mono">{status.tcti}</span>. The private key is made inside the TPM and never leaves it; the console signs there.
      </p>
      <div className="row">
        <label className="row">
          <input type="radio" name={`${p}tpm-mode`} checked={state.mode === 'generate'} onChange={() => set({ mode: 'generate' })} /> Make a new key (at {status.nextHandle})
        </label>
        <label className="row">
          <input type="radio" name={`${p}tpm-mode`} checked={state.mode === 'select'} onChange={() => set({ mode: 'select' })} disabled={status.signingKeys.length === 0} /> Use a key already in the TPM
          {status.signingKeys.length === 0 ? <span className="muted">(none here)</span> : null}
        </label>
      </div>
      <div className="row" style={{ alignItems: 'flex-start', marginTop: 8 }}>
        {state.mode === 'select' ? (
          <div className="field" style={{ flex: 1 }}>
            <label htmlFor={`${p}tpm-handle`}>Key</label>
            <select id={`${p}tpm-handle`} className="input mono" value={state.handle || status.signingKeys[0]} onChange={(e) => set({ handle: e.target.value })}>
              {status.signingKeys.map((h) => (
                <option key={h} value={h}>
                  {h}
                </option>
              ))}
            </select>
            {fieldError(error, 'key.handle') ? <span className="error">{fieldError(error, 'key.handle')}</span> : null}
          </div>
        ) : null}
        <div className="field" style={{ flex: 1 }}>
          <label htmlFor={`${p}tpm-ak`}>Attestation key</label>
          <select id={`${p}tpm-ak`} className="input mono" value={akHandle} onChange={(e) => set({ akHandle: e.target.value })} aria-invalid={Boolean(fieldError(error, 'key.akHandle'))}>
            {status.attestationKeys.map((h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
          </select>
          {fieldError(error, 'key.akHandle') ? <span className="error">{fieldError(error, 'key.akHandle')}</span> : <span className="hint">Certifies the new key (TPM2_Certify).</span>}
        </div>
      </div>
      <fieldset style={{ border: 0, padding: 0, margin: '4px 0 12px', display: 'flex', flexDirection: 'column', gap: 6 }} aria-describedby={`${p}tpm-anchor-error`}>
        <legend style={{ fontWeight: 600, fontSize: 12, padding: 0, marginBottom: 6 }}>What vouches for the attestation key</legend>
        <label className="row" style={{ alignItems: 'flex-start', flexWrap: 'nowrap' }}>
          <input type="radio" name={`${p}tpm-anchor`} checked={anchor === 'ek'} onChange={() => set({ anchor: 'ek' })} disabled={!status.ek.available} aria-label="Endorsement key" />
          <span>
            <strong>This TPM's endorsement key</strong> <span className="muted">(stronger)</span>
            <br />
            <span className="muted" style={{ fontSize: 12 }} aria-label="Endorsement key availability">
              {status.ek.available
                ? `The store checks the EK certificate from ${status.ek.issuer} and proves the attestation key is in this TPM (its challenge is answered here): nothing rests on a CA you run.`
                : `Not available: ${status.ek.reason}.`}
            </span>
          </span>
        </label>
        <label className="row" style={{ alignItems: 'flex-start', flexWrap: 'nowrap' }}>
          <input type="radio" name={`${p}tpm-anchor`} checked={anchor === 'ak-certificate'} onChange={() => set({ anchor: 'ak-certificate' })} aria-label="Attestation key certificate" />
          <span>
            <strong>A certificate from your attestation CA</strong> <span className="muted">(weaker)</span>
            <br />
            <span className="muted" style={{ fontSize: 12 }}>The store takes that CA's word that it checked this TPM before certifying the attestation key.</span>
          </span>
        </label>
        {fieldError(error, 'key.anchor') ? (
          <span className="error" style={{ fontSize: 12 }} id={`${p}tpm-anchor-error`}>
            {fieldError(error, 'key.anchor')}
          </span>
        ) : null}
      </fieldset>
      {anchor === 'ek' ? (
        <PemField
          id={`${p}tpm-ek-chain`}
          label="EK certificate intermediates (PEM, if your TPM vendor uses any)"
          rows={3}
          placeholder="-----BEGIN CERTIFICATE----- (usually empty)"
          value={state.ekIntermediates}
          onChange={(ekIntermediates) => set({ ekIntermediates })}
          error={fieldError(error, 'key.ekIntermediates')}
          hint="The EK certificate is read from the TPM. The console asks the store for a challenge for you and answers it with the endorsement key (TPM2_ActivateCredential)."
        />
      ) : (
        <PemField
          id={`${p}tpm-ak-cert`}
          label="Attestation key certificate (PEM)"
          rows={4}
          placeholder="-----BEGIN CERTIFICATE-----"
          value={state.akCertificates}
          onChange={(akCertificates) => set({ akCertificates })}
          error={fieldError(error, 'key.akCertificates')}
          hint={`As your attestation CA issued it for ${akHandle || 'the attestation key'}, then any intermediates. Public: it is handed to the admin with the key.`}
        />
      )}
    </>
  );
}

/** A PEM text area with its label, and under it the field's error or, without one, its hint. */
function PemField({ id, label, rows, placeholder, value, onChange, error, hint }: { id: string; label: string; rows: number; placeholder: string; value: string; onChange: (value: string) => void; error: string | null | undefined; hint: string }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} className="textarea mono" rows={rows} placeholder={placeholder} value={value} onChange={(e) => onChange(e.target.value)} aria-invalid={Boolean(error)} spellCheck={false} />
      {error ? <span className="error">{error}</span> : <span className="hint">{hint}</span>}
    </div>
  );
}

/**
 * A TPM key's certification, for the admin: the JSON `admin approver enroll --tpm-attestation`
 * reads, until when the store accepts it, and a button that certifies the key again.
 */
export function TpmCertification({ principal, tpmKey }: { principal: string; tpmKey: NonNullable<SessionKey['tpm']> }) {
  const certify = useChannelMutation('console:main:certify-tpm-key', ['console:main:get-session']);
  const json = `${JSON.stringify(tpmKey.certification, null, 2)}\n`;
  const expired = Date.parse(tpmKey.certificationValidUntil) <= useNow();
  return (
    <div aria-label="TPM certification">
      <div className="row" style={{ justifyContent: 'space-between', margin: '12px 0 6px' }}>
        <span className="label">
          Certification: save as <span className="mono">{principal}.tpm-attestation.json</span>
        </span>
        <CopyButton text={json} label="Copy certification" />
      </div>
      <pre className="pem" aria-label="TPM certification JSON" style={{ maxHeight: 140 }}>
        {json.trim()}
      </pre>
      <div className="row" style={{ marginTop: 6, justifyContent: 'space-between' }}>
        <span className={expired ? 'error' : 'muted'} aria-label="certification validity">
          {expired
            ? `Expired at ${formatUtc(tpmKey.certificationValidUntil)}: the store refuses it now. Certify again, then hand over the new one.`
            : `The store accepts it ${tpmKey.anchor === 'ek' ? 'once, ' : ''}until ${formatUtc(tpmKey.certificationValidUntil)} (made by the attestation key ${tpmKey.akHandle}, ${tpmKey.anchor === 'ek' ? "anchored in this TPM's endorsement key" : 'anchored in its AK certificate'}; key at ${tpmKey.handle}).`}
        </span>
        <button type="button" className="btn small" onClick={() => certify.mutate({})} disabled={certify.isPending}>
          {certify.isPending ? 'Certifying…' : 'Certify again'}
        </button>
      </div>
      <ErrorNotice error={certify.error} title="The key was not certified again" />
    </div>
  );
}
