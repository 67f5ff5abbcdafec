import type { Session } from '../../shared/ipc/contract';
import { useChannel, useChannelMutation } from '../bridge/queries';
import { useNow } from '../components/use-now';
import { formatAge, formatUtc } from '../lib/time';
import { useUi } from './ui-store';

/**
 * The session state, said once at the top of every screen when it is not plain "connected":
 * token rejected (sign in again), log halted, offline since T, reconnecting, key not enrolled.
 */
export function SessionBanner({ session }: { session: Session }) {
  const now = useNow();
  const signOut = useChannelMutation('console:main:sign-out', ['console:main:get-session']);
  const navigate = useUi((s) => s.navigate);
  const { connection } = session;
  const since = connection.statusSince ?? connection.offlineSince;
  const ago = since ? ` (${formatAge(now - new Date(since).getTime())} ago)` : '';
  switch (connection.status) {
    case 'connected':
      return null;
    case 'token_rejected':
      return (
        <div className="banner offline" role="alert" aria-label="token rejected banner">
          <span className="dot bad" aria-hidden="true" />
          <span className="lines">
            <strong>Token rejected{since ? ` at ${formatUtc(since)}` : ''}: sign in again</strong>
            <span className="sub">
              The store refused your API token ({connection.lastError ?? 'revoked or expired'}). Nothing is updated and nothing can be signed until you sign in with a new token; your signing key is kept.
            </span>
          </span>
          <span className="spacer" />
          <button type="button" className="btn small" onClick={() => signOut.mutate({ forgetKey: false })} disabled={signOut.isPending}>
            Sign in again
          </button>
        </div>
      );
    case 'log_halted':
      return (
        <div className="banner offline" role="alert" aria-label="log halted banner">
          <span className="dot bad" aria-hidden="true" />
          <span className="lines">
            <strong>The store halted its ledger{since ? ` at ${formatUtc(since)}` : ''}</strong>
            {/* The heading says it halted; the line says why (the status text without its first words). */}
            <span className="sub">{connection.statusText.replace(/^The store halted its ledger: /, '')}. Decisions are refused until an operator has checked the log.</span>
          </span>
        </div>
      );
    case 'offline':
      return (
        <div className="banner offline" role="status" aria-label="offline banner">
          <span className="dot bad" aria-hidden="true" />
          <span className="lines">
            <span>
              <strong>Offline since {since ? formatUtc(since) : 'start-up'}</strong>
              {ago}
              {connection.lastError ? <span>: {connection.lastError}</span> : null}
            </span>
            <span className="sub">
              Ledger, history and reviews are read from the local verified copy
              {connection.lastSyncAt ? ` (last sync ${formatUtc(connection.lastSyncAt)})` : ''}. Approve, deny, ask and revoke need the store and are disabled.
            </span>
          </span>
        </div>
      );
    case 'reconnecting':
      return (
        <div className="banner paused" role="status" aria-label="reconnecting banner">
          <span className="dot warn" aria-hidden="true" />
          <span>
            <strong>Reconnecting to the store</strong>
            {ago}: live updates are paused; what you see may be a few seconds old.
          </span>
        </div>
      );
    case 'key_not_enrolled':
      return (
        <div className="banner paused" role="status" aria-label="key not enrolled banner">
          <span className="dot warn" aria-hidden="true" />
          <span>
            <strong>Your signing key is not enrolled yet.</strong> You can read everything; approving, denying and revoking need an admin to enroll the key first.
          </span>
          <span className="spacer" />
          <button type="button" className="btn small" onClick={() => navigate('settings')}>
            Show the enroll command
          </button>
        </div>
      );
  }
}

/**
 * A bypass opened with a sealed emergency credential (no approver): red, on every screen, until it
 * ends. Read from the active bypasses (refetched on every store event).
 */
export function EmergencyBanner() {
  const active = useChannel('console:main:list-active', {}, { refetchInterval: 30_000 });
  const openRequest = useUi((s) => s.openRequest);
  const now = useNow();
  const emergencies = (active.data?.requests ?? []).filter((r) => r.emergencyCredential && r.expiresAt && Date.parse(r.expiresAt) > now);
  if (!emergencies.length) return null;
  return (
    <>
      {emergencies.map((r) => (
        <div className="banner offline" role="alert" aria-label="emergency banner" key={r.id}>
          <span className="dot bad" aria-hidden="true" />
          <span>
            <strong>EMERGENCY:</strong> {r.requester} opened <span className="mono">{r.gate}</span> with sealed credential <span className="mono">{r.emergencyCredential}</span>, no approver, until{' '}
            <span className="mono">{formatUtc(r.expiresAt!)}</span> ({formatAge(Date.parse(r.expiresAt!) - now)} left).
          </span>
          <span className="spacer" />
          <button type="button" className="btn small" onClick={() => openRequest(r.id)}>
            Open
          </button>
        </div>
      ))}
    </>
  );
}

export function PausedBanner() {
  const settings = useChannel('console:main:get-settings', {});
  const resume = useChannelMutation('console:main:pause-notifications', ['console:main:get-settings']);
  const now = useNow();
  const until = settings.data?.pauseUntil;
  if (!until || new Date(until).getTime() <= now) return null;
  return (
    <div className="banner paused" role="status" aria-label="notifications paused">
      <strong>Notifications paused</strong>
      <span>until {formatUtc(until)}. Only sev1 requests still notify.</span>
      <span className="spacer" />
      <button className="btn small" type="button" onClick={() => resume.mutate({ minutes: 0 })}>
        Resume now
      </button>
    </div>
  );
}

/** Hardware-key PIN prompts open as a popup of the host; this bar is the fallback if it was blocked. */
export function PinPromptBar() {
  const prompts = useUi((s) => s.pinPrompts);
  if (!prompts.length) return null;
  return (
    <>
      {prompts.map((p) => (
        <div className="banner paused" role="status" aria-label="PIN required" key={p.promptId}>
          <strong>PIN required</strong>
          <span>
            {p.purpose}: enter the PIN of token <code>{p.tokenLabel}</code> in the PIN window. The PIN goes straight to the console host, never to this page.
          </span>
          <span className="spacer" />
          <button className="btn small" type="button" onClick={() => window.open(p.url, `breakglass-pin-${p.promptId}`, 'popup=yes,width=440,height=420')}>
            {p.popupBlocked ? 'Open PIN window' : 'Reopen PIN window'}
          </button>
        </div>
      ))}
    </>
  );
}
