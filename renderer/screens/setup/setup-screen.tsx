import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { ChannelInput, Session } from '../../../shared/ipc/contract';
import { channelKey, useChannel, useChannelMutation } from '../../bridge/queries';
import { KeyBadge } from '../../components/badges';
import { Pkcs11KeyFields, type Pkcs11KeyMode } from '../../components/pkcs11-key-fields';
import { CopyButton } from '../../components/copy-button';
import { PivAttestation } from '../../components/piv-attestation';
import { TpmCertification, TpmKeyFields } from '../../components/tpm-key-fields';
import { EMPTY_TPM_KEY, tpmChoiceText, tpmKeyChoice, type TpmKeyState } from '../../lib/tpm-key-choice';
import { ErrorNotice, fieldError } from '../../components/error-notice';
import { useUi } from '../../app/ui-store';
import { useSession } from '../../app/use-session';

type KeyChoice = 'software' | 'pkcs11' | 'tpm' | 'file';
const DEFAULT_STORE_URL = 'http://127.0.0.1:7410';
const DEFAULT_SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** Shown once the key exists: the public half and the enroll command for an admin. */
function EnrollmentStep({ session, onDone }: { session: Session; onDone(): void }) {
  const key = session.key;
  if (!key) return null;
  return (
    <section className="panel" aria-label="public key for enrollment">
      <div className="panel-head">
        <h2>Hand this public key to an admin</h2>
        <KeyBadge hardwareBacked={key.hardwareBacked} kind={key.kind} attestation={key.attestation} />
      </div>
      <div className="panel-body">
        <p className="muted" style={{ marginTop: 0 }}>
          Signed decisions are accepted only from keys the grant store has enrolled for <strong>{session.principal}</strong>. Send the public
          key (it is not secret){key.tpm ? ', saved as ' : ''}
          {key.tpm ? <span className="mono">{session.principal}.pub.pem</span> : null}
          {key.tpm ? ', and the TPM certification below' : ''} to an admin, who runs the command below.
        </p>
        <dl className="facts" style={{ marginBottom: 12 }}>
          <dt>Key id</dt>
          <dd className="mono" aria-label="key id">
            {key.keyId}
          </dd>
          <dt>Enrolled</dt>
          <dd role="status" aria-label="enrollment">
            {key.enrolled ? (
              <strong className="badge hw">enrolled: the store accepts this key</strong>
            ) : (
              'not yet: decisions will be refused until an admin enrolls it (this page notices by itself)'
            )}
          </dd>
          <dt>Attestation</dt>
          <dd aria-label="key attestation">{key.attestation ? `attested: ${key.attestation.kind}, serial ${key.attestation.serial}` : key.attestationText}</dd>
        </dl>
        <div className="row" style={{ justifyContent: 'space-between', marginBottom: 6 }}>
          <span className="label">Public key (PEM)</span>
          <CopyButton text={key.publicKeyPem} label="Copy public key" />
        </div>
        <pre className="pem" aria-label="public key PEM">
          {key.publicKeyPem.trim()}
        </pre>
        {key.tpm && !key.enrolled ? <TpmCertification principal={session.principal ?? ''} tpmKey={key.tpm} /> : null}
        {key.kind === 'pkcs11' && !key.enrolled ? <PivAttestation /> : null}
        <div className="row" style={{ justifyContent: 'space-between', margin: '12px 0 6px' }}>
          <span className="label">Enroll command (for the admin)</span>
          <CopyButton text={key.enrollCommand} label="Copy enroll command" />
        </div>
        <pre className="pem" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
          {key.enrollCommand}
        </pre>
      </div>
      <div className="dialog-foot">
        <button className="btn primary" type="button" onClick={onDone}>
          Open the console
        </button>
      </div>
    </section>
  );
}

export function SetupScreen() {
  const client = useQueryClient();
  const setup = useChannelMutation('console:main:setup', []);
  // The live session (re-read when the store reports the key enrolled, by event) once setup is done;
  // before that, it says which store to pre-fill (the one launched for, or the last one used).
  const live = useSession().data;
  const [storeUrl, setStoreUrl] = useState(live?.suggestedStoreUrl ?? DEFAULT_STORE_URL);
  const [token, setToken] = useState('');
  const keyFiles = live?.softwareKeyFiles ?? [];
  const noKeychain = live ? !live.keychain.available : false;
  // Without an OS keychain neither a software key nor the token of a hardware-key setup can be
  // kept: when the demo offers key files, the software-file signer is the one choice that works.
  const filesOnly = noKeychain && keyFiles.length > 0;
  const [chosenKind, setKind] = useState<KeyChoice>('software');
  const kind: KeyChoice = filesOnly ? 'file' : chosenKind;
  const [keyFile, setKeyFile] = useState('');
  const chosenFile = keyFile || keyFiles[0]?.path || '';
  const [modulePath, setModulePath] = useState(DEFAULT_SOFTHSM_MODULE);
  const [tokenLabel, setTokenLabel] = useState('');
  const [keyLabel, setKeyLabel] = useState('breakglass-approver');
  const [mode, setMode] = useState<Pkcs11KeyMode>('generate');
  const [tpmKey, setTpmKey] = useState<TpmKeyState>(EMPTY_TPM_KEY);
  const tpmStatus = useChannel('console:main:get-tpm-status', {});
  const tpmChoice = tpmChoiceText(tpmStatus.data, tpmStatus.error);
  const [done, setDone] = useState<Session | null>(null);
  const setEnrolling = useUi((s) => s.setEnrolling);

  const keyChoice = (): ChannelInput<'console:main:setup'>['key'] =>
    kind === 'software'
      ? { kind: 'software' }
      : kind === 'file'
        ? { kind: 'file', path: chosenFile }
        : kind === 'tpm'
          ? tpmKeyChoice(tpmKey, tpmStatus.data)
          : { kind: 'pkcs11', modulePath, tokenLabel, keyLabel, mode };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const key = keyChoice();
    // Set before the call: the session becomes configured while setup is still under way (events
    // re-read it), and this screen must stay for the enrollment step that follows.
    setEnrolling(true);
    setup.mutate(
      { storeUrl, token, key },
      {
        onSuccess: (session) => {
          // The token went to main's keychain; this page forgets it now.
          setToken('');
          setDone(session);
        },
        onError: () => setEnrolling(false),
      },
    );
  };

  const idp = useChannelMutation('console:main:sign-in-idp', []);
  const signInIdp = () => {
    const key = keyChoice();
    setEnrolling(true);
    idp.mutate({ storeUrl, key }, { onSuccess: (session) => setDone(session), onError: () => setEnrolling(false) });
  };

  const finish = () => {
    if (done && !live?.configured) client.setQueryData(channelKey('console:main:get-session', {}), done);
    setEnrolling(false);
    void client.invalidateQueries();
  };

  const err = setup.error;
  return (
    <div className="setup-wrap">
      <div className="row" style={{ marginBottom: 6 }}>
        <div className="nav-brand-mark" aria-hidden="true">
          B
        </div>
        <h1>Set up the Breakglass console</h1>
      </div>
      <p className="muted" style={{ marginTop: 0 }}>
        Connect to your grant store and create the key that signs your decisions.{' '}
        {kind === 'file' ? 'With a key file the token stays in this console\'s memory only: paste it again after a restart.' : 'The token is kept in the OS keychain, never on disk in the clear.'}
      </p>
      <div className="steps" aria-hidden="true">
        <div className="step done" />
        <div className={`step${done ? ' done' : ''}`} />
      </div>
      {done ? (
        <EnrollmentStep session={live?.configured && live.key?.keyId === done.key?.keyId ? live : done} onDone={finish} />
      ) : (
        <form className="panel" onSubmit={submit} aria-label="setup">
          <div className="panel-head">
            <h2>Store and signing key</h2>
          </div>
          <div className="panel-body">
            <div className="field">
              <label htmlFor="store-url">Grant store URL</label>
              <input id="store-url" className="input mono" value={storeUrl} onChange={(e) => setStoreUrl(e.target.value)} aria-invalid={Boolean(fieldError(err, 'storeUrl'))} required />
              {fieldError(err, 'storeUrl') ? <span className="error">{fieldError(err, 'storeUrl')}</span> : <span className="hint">Non-loopback stores must use https.</span>}
            </div>
            <div className="field">
              <label htmlFor="api-token">API token</label>
              <input id="api-token" className="input mono" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} aria-invalid={Boolean(fieldError(err, 'token'))} />
              {fieldError(err, 'token') ? <span className="error">{fieldError(err, 'token')}</span> : <span className="hint">Printed once by `breakglass admin token create --principal YOU --role approver`.</span>}
            </div>
            {noKeychain ? (
              <div className="notice warn" role="note" aria-label="no OS keychain" style={{ marginBottom: 12 }}>
                <strong>No OS keychain is available</strong>, so no software key can be kept here.
                {keyFiles.length ? ' This demo console can sign with its approver key files instead (software-file signer, below).' : ''}
                <div className="muted" style={{ marginTop: 4 }}>
                  {live?.keychain.message}
                </div>
              </div>
            ) : null}
            <fieldset className="field" style={{ border: 0, padding: 0, margin: '0 0 12px' }}>
              <legend className="label" style={{ marginBottom: 6 }}>
                Signing key
              </legend>
              <div className="radio-cards">
                <label className="radio-card">
                  <input type="radio" name="key-kind" checked={kind === 'software'} onChange={() => setKind('software')} aria-label="software key" disabled={filesOnly} />
                  <span>
                    <strong>Software key</strong>
                    <span className="muted">ECDSA P-256, private half in the OS keychain.{filesOnly ? ' Needs the OS keychain, which is not available here.' : ''}</span>
                  </span>
                </label>
                <label className="radio-card">
                  <input type="radio" name="key-kind" checked={kind === 'pkcs11'} onChange={() => setKind('pkcs11')} aria-label="hardware key" disabled={filesOnly} />
                  <span>
                    <strong>Hardware key (PKCS#11)</strong>
                    <span className="muted">
                      YubiKey PIV, smart card, TPM or HSM; non-extractable. Required by any tier whose policy asks for a hardware key.
                      {filesOnly ? ' Needs the OS keychain for your API token, which is not available here.' : ''}
                    </span>
                  </span>
                </label>
                <label className="radio-card">
                  <input type="radio" name="key-kind" checked={kind === 'tpm'} onChange={() => setKind('tpm')} aria-label="TPM key" aria-describedby="tpm-choice-text" disabled={filesOnly || !tpmChoice.enabled} />
                  <span>
                    <strong>TPM 2.0 (this machine)</strong>
                    <span className="muted" id="tpm-choice-text" aria-label="TPM availability">
                      {tpmChoice.text}
                      {filesOnly && tpmChoice.enabled ? ' Needs the OS keychain for your API token, which is not available here.' : ''}
                    </span>
                  </span>
                </label>
                {keyFiles.length ? (
                  <label className="radio-card warn-card">
                    <input type="radio" name="key-kind" checked={kind === 'file'} onChange={() => setKind('file')} aria-label="software-file signer" />
                    <span>
                      <strong>Software-file signer (demo key file)</strong>
                      <span className="muted">
                        Not protected by the OS keychain: the demo's key file on disk signs, and your token stays in memory until the console stops. Tiers that require a hardware key refuse
                        it.
                      </span>
                    </span>
                  </label>
                ) : null}
              </div>
            </fieldset>
            {kind === 'file' && keyFiles.length ? (
              <div className="field">
                <label htmlFor="key-file">Key file</label>
                <select id="key-file" className="input mono" value={chosenFile} onChange={(e) => setKeyFile(e.target.value)}>
                  {keyFiles.map((f) => (
                    <option key={f.path} value={f.path}>
                      {f.principal}: {f.path}
                    </option>
                  ))}
                </select>
                {fieldError(err, 'key.path') ? <span className="error">{fieldError(err, 'key.path')}</span> : <span className="hint">Choose the file of the principal whose token you paste.</span>}
              </div>
            ) : null}
            {kind === 'pkcs11' ? (
              <div className="panel" style={{ padding: 12, marginBottom: 12, background: '#fafbfc' }}>
                <Pkcs11KeyFields idPrefix="" {...{ modulePath, setModulePath, tokenLabel, setTokenLabel, keyLabel, setKeyLabel, mode, setMode }} />
                <p className="hint muted" style={{ marginBottom: 0 }}>
                  The token PIN is asked by the console host in its own window when needed; it never enters this page.
                </p>
              </div>
            ) : null}
            {kind === 'tpm' && tpmStatus.data?.available ? (
              <div className="panel" style={{ padding: 12, marginBottom: 12, background: '#fafbfc' }}>
                <TpmKeyFields idPrefix="" status={tpmStatus.data} state={tpmKey} setState={setTpmKey} error={err ?? idp.error} />
              </div>
            ) : null}
            <ErrorNotice error={err} title="Setup failed" shownInline={['storeUrl', 'token', 'key.akHandle', 'key.anchor', 'key.akCertificates', 'key.ekIntermediates', 'key.handle']} />
            <ErrorNotice error={idp.error} title="Sign-in through your organisation failed" />
          </div>
          <div className="dialog-foot">
            {/* Stores with identity.oidc sign people in through the IdP; others answer that a token is needed. */}
            <button className="btn" type="button" disabled={setup.isPending || idp.isPending} onClick={signInIdp} title="Opens your organisation's sign-in page in the system browser; no token to paste">
              {idp.isPending ? 'Waiting for the browser sign-in…' : 'Sign in with your organisation'}
            </button>
            <button className="btn primary" type="submit" disabled={setup.isPending || idp.isPending}>
              {setup.isPending ? (kind === 'tpm' ? 'Making the key in the TPM…' : 'Connecting…') : kind === 'file' ? 'Connect with this key file' : kind === 'tpm' && tpmKey.mode === 'select' ? 'Connect and certify this key' : 'Connect and create key'}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
