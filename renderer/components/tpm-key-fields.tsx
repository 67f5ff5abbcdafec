import type { SessionKey, TpmStatus } from '../../shared/ipc/contract';
import type { AppError } from '../../shared/errors';
import type { TpmKeyState } from '../lib/tpm-key-choice';
import { useChannelMutation } from '../bridge/queries';
import { formatUtc } from '../lib/time';
import { CopyButton } from './copy-button';
import { ErrorNotice, fieldError } from './error-notice';
import { useNow } from './use-now';

/**
 * The fields of a TPM key: make a new one or use one already there, the attestation key that
 * certifies it, and that key's certificate from the attestation CA. Setup and Settings' "Add
 * hardware key" both ask for it; `idPrefix` keeps their element ids apart.
 */
export function TpmKeyFields({ idPrefix: p, status, state, setState, error }: { idPrefix: string; status: TpmStatus; state: TpmKeyState; setState: (next: TpmKeyState) => void; error: AppError | null }) {
  const set = (patch: Partial<TpmKeyState>) => setState({ ...state, ...patch });
  const akHandle = state.akHandle || status.attestationKeys[0] || '';
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
      <div className="field">
        <label htmlFor={`${p}tpm-ak-cert`}>Attestation key certificate (PEM)</label>
        <textarea
          id={`${p}tpm-ak-cert`}
          className="textarea mono"
          rows={4}
          placeholder="-----BEGIN CERTIFICATE-----"
          value={state.akCertificates}
          onChange={(e) => set({ akCertificates: e.target.value })}
          aria-invalid={Boolean(fieldError(error, 'key.akCertificates'))}
          spellCheck={false}
        />
        {fieldError(error, 'key.akCertificates') ? (
          <span className="error">{fieldError(error, 'key.akCertificates')}</span>
        ) : (
          <span className="hint">As your attestation CA issued it for {akHandle || 'the attestation key'}, then any intermediates. Public: it is handed to the admin with the key.</span>
        )}
      </div>
    </>
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
            : `The store accepts it until ${formatUtc(tpmKey.certificationValidUntil)} (made by the attestation key ${tpmKey.akHandle}; key at ${tpmKey.handle}).`}
        </span>
        <button type="button" className="btn small" onClick={() => certify.mutate({})} disabled={certify.isPending}>
          {certify.isPending ? 'Certifying…' : 'Certify again'}
        </button>
      </div>
      <ErrorNotice error={certify.error} title="The key was not certified again" />
    </div>
  );
}
