import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { SeveritySchema, type Severity } from '../../../shared/domain/common';
import { MAX_PIN_CACHE_MINUTES, type Session, type Settings } from '../../../shared/ipc/contract';
import { useSession } from '../../app/use-session';
import { useChannel, useChannelMutation } from '../../bridge/queries';
import { KeyBadge } from '../../components/badges';
import { Pkcs11KeyFields, type Pkcs11KeyMode } from '../../components/pkcs11-key-fields';
import { CopyButton } from '../../components/copy-button';
import { TpmCertification, TpmKeyFields } from '../../components/tpm-key-fields';
import { PivAttestation } from '../../components/piv-attestation';
import { EMPTY_TPM_KEY, tpmChoiceText, tpmKeyChoice, type TpmKeyState } from '../../lib/tpm-key-choice';
import { ErrorNotice } from '../../components/error-notice';
import { useNow } from '../../components/use-now';
import { SEVERITY_LABEL } from '../../lib/severity';
import { formatUtc } from '../../lib/time';
import { WitnessKeyPanel } from './witness-key-panel';

const PAUSE_CHOICES = [
  { minutes: 60, label: '1 hour' },
  { minutes: 4 * 60, label: '4 hours' },
  { minutes: 24 * 60, label: '24 hours' },
];

function Identity({ session }: { session: Session }) {
  const key = session.key;
  return (
    <section className="panel" aria-label="identity and keys">
      <div className="panel-head">
        <h3>Store and identity</h3>
      </div>
      <div className="panel-body">
        <dl className="facts">
          <dt>Grant store</dt>
          <dd className="mono" aria-label="store url">
            {session.storeUrl}
          </dd>
          <dt>Connection</dt>
          <dd>
            <span className={`dot ${session.connection.status === 'connected' ? 'ok' : session.connection.online ? 'warn' : 'bad'}`} aria-hidden="true" />{' '}
            <span aria-label="session state">{session.connection.status === 'offline' && session.connection.offlineSince ? `Offline since ${formatUtc(session.connection.offlineSince)}` : session.connection.statusText}</span>
            {session.connection.lastSyncAt ? <span className="muted"> · ledger synced {formatUtc(session.connection.lastSyncAt)}</span> : null}
          </dd>
          <dt>Principal</dt>
          <dd>
            <strong className="mono" aria-label="principal">
              {session.principal}
            </strong>{' '}
            <span className="muted">{session.roles.join(', ')}</span>
          </dd>
          <dt>Team</dt>
          <dd className="mono">{session.team ?? '—'}</dd>
          <dt>Approver groups</dt>
          <dd className="mono">{session.approverGroups.join(', ') || '—'}</dd>
          <dt>OS keychain</dt>
          <dd aria-label="keychain status">
            <span className={`dot ${session.keychain.available ? 'ok' : 'bad'}`} /> {session.keychain.available ? 'available: the API token (and a software key, if any) is held there' : 'unavailable'}
            {session.keychain.message ? <div className="muted">{session.keychain.message}</div> : null}
          </dd>
        </dl>
      </div>
      {key ? (
        <div className="panel-body" style={{ borderTop: '1px solid var(--border-muted)' }}>
          <dl className="facts">
            <dt>Signing key</dt>
            <dd className="row" style={{ gap: 6 }}>
              <KeyBadge hardwareBacked={key.hardwareBacked} kind={key.kind} attestation={key.attestation} />
              <span className={`badge ${key.enrolled ? 'hw' : 'state-pending'}`} aria-label={key.enrolled ? 'key enrolled' : 'key not enrolled'}>
                {key.enrolled ? 'enrolled' : 'not enrolled yet'}
              </span>
            </dd>
            <dt>Key id</dt>
            <dd className="mono" aria-label="key id" style={{ fontSize: 11.5 }}>
              {key.keyId}
            </dd>
            {key.pkcs11 ? (
              <>
                <dt>PKCS#11</dt>
                <dd className="mono" style={{ fontSize: 12 }}>
                  {key.pkcs11.modulePath}
                  <br />
                  token {key.pkcs11.tokenLabel} · key {key.pkcs11.keyLabel}
                </dd>
              </>
            ) : null}
            {key.tpm ? (
              <>
                <dt>TPM</dt>
                <dd className="mono" style={{ fontSize: 12 }} aria-label="TPM key">
                  key {key.tpm.handle} · attestation key {key.tpm.akHandle} · {key.tpm.anchor === 'ek' ? 'anchored in the endorsement key' : 'anchored in its AK certificate (weaker)'}
                  <br />
                  {key.tpm.tcti}
                </dd>
              </>
            ) : null}
            {key.file ? (
              <>
                <dt>Key file</dt>
                <dd className="mono" style={{ fontSize: 12 }}>
                  {key.file.path}
                  <div className="muted">Not protected by the OS keychain (demo only); your token stays in memory until the console stops.</div>
                </dd>
              </>
            ) : null}
            <dt>Attestation</dt>
            <dd aria-label="key attestation">{key.attestation ? `attested by the store: ${key.attestation.kind}, serial ${key.attestation.serial}` : key.attestationText}</dd>
            <dt>Public key</dt>
            <dd>
              <CopyButton text={key.publicKeyPem} label="Copy public key" />
            </dd>
            {!key.enrolled ? (
              <>
                <dt>Enroll</dt>
                <dd>
                  <pre className="pem" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
                    {key.enrollCommand}
                  </pre>
                  {key.tpm ? <TpmCertification principal={session.principal ?? ''} tpmKey={key.tpm} /> : null}
                  {key.kind === 'pkcs11' ? <PivAttestation /> : null}
                </dd>
              </>
            ) : null}
          </dl>
        </div>
      ) : null}
    </section>
  );
}

function Preferences({ settings, session }: { settings: Settings; session: Session }) {
  const update = useChannelMutation('console:main:update-settings', ['console:main:get-settings']);
  const pause = useChannelMutation('console:main:pause-notifications', ['console:main:get-settings']);
  const now = useNow();
  const [pin, setPin] = useState(String(settings.pinCacheMinutes));
  const severities = settings.notificationThreshold.severities;
  const paused = settings.pauseUntil && new Date(settings.pauseUntil).getTime() > now;
  const toggleSeverity = (s: Severity) => {
    const next = severities.includes(s) ? severities.filter((x) => x !== s) : [...severities, s];
    update.mutate({ notificationThreshold: { ...settings.notificationThreshold, severities: SeveritySchema.options.filter((o) => next.includes(o)) } });
  };
  return (
    <section className="panel" aria-label="notification settings">
      <div className="panel-head">
        <h3>Notifications and signing</h3>
      </div>
      <div className="panel-body">
        <div className="switch-row">
          <div>
            <div style={{ fontWeight: 600 }}>Notify me for</div>
            <div className="muted" style={{ fontSize: 12 }}>
              Plus every request on a critical tier
              {settings.notificationThreshold.criticalTiers ? ` (${settings.notificationThreshold.criticalTiers.join(', ')})` : ' (from the policy)'}. Never for your own requests.
            </div>
          </div>
          <div className="row" role="group" aria-label="notification threshold">
            {SeveritySchema.options.map((s) => (
              <label key={s} className="row" style={{ gap: 4 }} title={SEVERITY_LABEL[s]}>
                <input type="checkbox" checked={severities.includes(s)} onChange={() => toggleSeverity(s)} aria-label={`notify ${s}`} />
                <span className="mono">{s}</span>
              </label>
            ))}
          </div>
        </div>
        <div className="switch-row">
          <div>
            <div style={{ fontWeight: 600 }}>Pause notifications</div>
            <div className="muted" style={{ fontSize: 12 }} aria-label="pause state">
              {paused ? `Paused until ${formatUtc(settings.pauseUntil!)}; sev1 still notifies.` : 'Active. A pause never silences sev1.'}
            </div>
          </div>
          <div className="row">
            {paused ? (
              <button type="button" className="btn small" onClick={() => pause.mutate({ minutes: 0 })}>
                Resume
              </button>
            ) : (
              PAUSE_CHOICES.map((c) => (
                <button key={c.minutes} type="button" className="btn small" onClick={() => pause.mutate({ minutes: c.minutes })}>
                  {c.label}
                </button>
              ))
            )}
          </div>
        </div>
        {session.host === 'browser' ? <BrowserNotificationsRow /> : null}
        <div className="switch-row">
          <div>
            <div style={{ fontWeight: 600 }}>Start at login</div>
            <div className="muted" style={{ fontSize: 12 }}>
              {session.host === 'electron' ? 'Start to the tray when you log in.' : 'Desktop app only: this console runs in the browser host.'}
            </div>
          </div>
          <input type="checkbox" aria-label="start at login" checked={settings.startAtLogin} disabled={session.host !== 'electron'} onChange={(e) => update.mutate({ startAtLogin: e.target.checked })} />
        </div>
        <div className="switch-row">
          <div>
            <div style={{ fontWeight: 600 }}>Cache hardware-key PIN</div>
            <div className="muted" style={{ fontSize: 12 }}>
              Minutes the PIN stays in the console's memory (never on disk). 0 asks for every signature.
            </div>
          </div>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              update.mutate({ pinCacheMinutes: Number(pin) });
            }}
          >
            <input className="input mono" style={{ width: 64 }} type="number" min={0} max={MAX_PIN_CACHE_MINUTES} value={pin} onChange={(e) => setPin(e.target.value)} aria-label="PIN cache minutes" />
            <button type="submit" className="btn small" disabled={String(settings.pinCacheMinutes) === pin}>
              Save
            </button>
          </form>
        </div>
        <ErrorNotice error={update.error ?? pause.error} title="Could not save" />
      </div>
    </section>
  );
}

const DEFAULT_SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/**
 * "Add hardware key": a key on a PKCS#11 token (generated there or selected by label) becomes this
 * console's signing key without signing out; the token PIN is asked in the host's PIN window.
 * The new public key and enroll command then show in the identity panel until an admin enrolls it.
 */
function AddHardwareKey({ session }: { session: Session }) {
  const change = useChannelMutation('console:main:change-key', ['console:main:get-session']);
  const [open, setOpen] = useState(false);
  const [kind, setKind] = useState<'pkcs11' | 'tpm'>('pkcs11');
  // The current TPM key's attestation key certificate is public: offered again for the next key.
  const [tpmKey, setTpmKey] = useState<TpmKeyState>({ ...EMPTY_TPM_KEY, akHandle: session.key?.tpm?.akHandle ?? '', akCertificates: session.key?.tpm?.certification.kind === 'tpm' ? session.key.tpm.certification.certificates.join('') : '' });
  const tpmStatus = useChannel('console:main:get-tpm-status', {}, { enabled: open });
  const tpmChoice = tpmChoiceText(tpmStatus.data, tpmStatus.error);
  const [modulePath, setModulePath] = useState(session.key?.pkcs11?.modulePath ?? DEFAULT_SOFTHSM_MODULE);
  const [tokenLabel, setTokenLabel] = useState(session.key?.pkcs11?.tokenLabel ?? '');
  const [keyLabel, setKeyLabel] = useState('breakglass-approver');
  const [mode, setMode] = useState<Pkcs11KeyMode>('generate');
  const offline = !session.connection.online;
  return (
    <section className="panel" aria-label="add hardware key">
      <div className="panel-head">
        <h3>{session.key?.hardwareBacked ? 'Use another hardware key' : 'Add hardware key'}</h3>
        {!open ? (
          <button type="button" className="btn small" onClick={() => setOpen(true)}>
            {session.key?.hardwareBacked ? 'Change key…' : 'Add hardware key…'}
          </button>
        ) : null}
      </div>
      {open ? (
        <form
          className="panel-body"
          aria-label="hardware key"
          onSubmit={(e) => {
            e.preventDefault();
            const key = kind === 'tpm' ? tpmKeyChoice(tpmKey, tpmStatus.data) : ({ kind: 'pkcs11', modulePath, tokenLabel, keyLabel, mode } as const);
            change.mutate({ key }, { onSuccess: () => setOpen(false) });
          }}
        >
          <p className="muted" style={{ marginTop: 0 }}>
            You stay signed in as <strong>{session.principal}</strong>. Decisions are signed with the new key once an admin enrolls it (its enroll command shows on the left).
          </p>
          <div className="radio-cards" role="radiogroup" aria-label="hardware key kind" style={{ marginBottom: 12 }}>
            <label className="radio-card">
              <input type="radio" name="hw-key-kind" checked={kind === 'pkcs11'} onChange={() => setKind('pkcs11')} aria-label="PKCS#11 token" />
              <span>
                <strong>PKCS#11 token</strong>
                <span className="muted">YubiKey PIV, smart card, HSM.</span>
              </span>
            </label>
            <label className="radio-card">
              <input type="radio" name="hw-key-kind" checked={kind === 'tpm'} onChange={() => setKind('tpm')} aria-label="TPM key" aria-describedby="hw-tpm-choice-text" disabled={!tpmChoice.enabled} />
              <span>
                <strong>TPM 2.0 (this machine)</strong>
                <span className="muted" id="hw-tpm-choice-text" aria-label="TPM availability">
                  {tpmChoice.text}
                </span>
              </span>
            </label>
          </div>
          {kind === 'tpm' && tpmStatus.data?.available ? (
            <TpmKeyFields idPrefix="hw-" status={tpmStatus.data} state={tpmKey} setState={setTpmKey} error={change.error} />
          ) : (
            <Pkcs11KeyFields idPrefix="hw-" {...{ modulePath, setModulePath, tokenLabel, setTokenLabel, keyLabel, setKeyLabel, mode, setMode }} />
          )}
          <ErrorNotice error={change.error} title="The key was not changed" shownInline={kind === 'tpm' ? ['key.akHandle', 'key.anchor', 'key.akCertificates', 'key.ekIntermediates', 'key.handle'] : []} />
          <div className="row" style={{ marginTop: 8 }}>
            <button type="submit" className="btn primary small" disabled={change.isPending || offline}>
              {change.isPending
                ? kind === 'tpm'
                  ? 'Making the key in the TPM…'
                  : 'Waiting for the token PIN…'
                : (kind === 'tpm' ? tpmKey.mode : mode) === 'generate'
                  ? 'Create and use this key'
                  : 'Use this key'}
            </button>
            <button type="button" className="btn small" onClick={() => setOpen(false)} disabled={change.isPending}>
              Cancel
            </button>
            {offline ? <span className="muted">The store is unreachable: try again when it is back.</span> : null}
          </div>
        </form>
      ) : null}
    </section>
  );
}

export function SettingsScreen() {
  const session = useSession().data;
  const settings = useChannel('console:main:get-settings', {});
  const witness = useChannel('console:main:get-witness-key', {});
  const client = useQueryClient();
  const signOut = useChannelMutation('console:main:sign-out', []);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Settings</h1>
          <p>Secrets stay in the OS keychain or on the hardware token; this page never sees them.</p>
        </div>
      </div>
      <ErrorNotice error={settings.error} title="Could not load settings" />
      <div className="grid-2" style={{ gridTemplateColumns: 'minmax(0, 1fr) minmax(0, 1fr)' }}>
        {session ? <Identity session={session} /> : <div />}
        <div className="stack">
          {settings.data && session ? <Preferences settings={settings.data} session={session} /> : null}
          {session?.configured ? <AddHardwareKey session={session} /> : null}
          {session?.configured ? <WitnessKeyPanel witness={witness.error ? null : witness.data} copy={(text) => <CopyButton text={text} label="Copy witness key" />} /> : null}
          <section className="panel" aria-label="sign out">
            <div className="panel-head">
              <h3>Sign out</h3>
            </div>
            <div className="panel-body row" style={{ justifyContent: 'space-between', flexWrap: 'nowrap' }}>
              <span className="muted">Removes the API token from the keychain. Your signing key stays.</span>
              <button
                type="button"
                className="btn danger small"
                onClick={() => signOut.mutate({ forgetKey: false }, { onSuccess: () => void client.invalidateQueries() })}
              >
                Sign out
              </button>
            </div>
            {signOut.error ? (
              <div className="panel-body">
                <ErrorNotice error={signOut.error} />
              </div>
            ) : null}
          </section>
        </div>
      </div>
    </>
  );
}

/** Browser host: desktop notifications through the Web Notifications API; permission is asked from this click only. */
function BrowserNotificationsRow() {
  const supported = typeof Notification !== 'undefined';
  const [permission, setPermission] = useState<NotificationPermission | 'unsupported'>(supported ? Notification.permission : 'unsupported');
  const text =
    permission === 'granted'
      ? 'Allowed: new requests, SLA warnings, replies, expiring bypasses, reviews and session trouble show as desktop notifications.'
      : permission === 'denied'
        ? 'Blocked in this browser: allow notifications for this site in the browser settings. The tab title still shows the count.'
        : permission === 'unsupported'
          ? 'This browser has no desktop notifications. The tab title still shows the count.'
          : 'Not allowed yet. The tab title shows the count either way.';
  return (
    <div className="switch-row">
      <div>
        <div style={{ fontWeight: 600 }}>Desktop notifications</div>
        <div className="muted" style={{ fontSize: 12 }} aria-label="desktop notifications state">
          {text}
        </div>
      </div>
      {permission === 'default' ? (
        <button type="button" className="btn small" onClick={() => void Notification.requestPermission().then(setPermission)}>
          Allow notifications
        </button>
      ) : null}
    </div>
  );
}
