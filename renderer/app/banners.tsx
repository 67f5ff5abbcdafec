import type { Session } from '../../shared/ipc/contract';
import { useChannel, useChannelMutation } from '../bridge/queries';
import { useNow } from '../components/use-now';
import { formatAge, formatUtc } from '../lib/time';
import { useUi } from './ui-store';

/** Persistent while the store is unreachable: since when, why, and what still works. */
export function OfflineBanner({ session }: { session: Session }) {
  const now = useNow();
  const { connection } = session;
  if (connection.online) return null;
  const since = connection.offlineSince;
  return (
    <div className="banner offline" role="status" aria-label="offline banner">
      <span className="dot bad" aria-hidden="true" />
      <span className="lines">
        <span>
          <strong>Offline since {since ? formatUtc(since) : 'start-up'}</strong>
          {since ? <span> ({formatAge(now - new Date(since).getTime())} ago)</span> : null}
          {connection.lastError ? <span>: {connection.lastError}</span> : null}
        </span>
        <span className="sub">
          Ledger, history and reviews are read from the local verified copy
          {connection.lastSyncAt ? ` (last sync ${formatUtc(connection.lastSyncAt)})` : ''}. Approve, deny, ask and revoke need the store and are disabled.
        </span>
      </span>
    </div>
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
