/** Why the mirror cannot sync now (the store is unreachable), shown on the disabled button and beside it. */
export const SYNC_OFFLINE_WHY = 'The grant store is unreachable: the verified mirror below is what you can read; it syncs again by itself when the store is back.';

/**
 * "Sync now": disabled with the reason while the store is unreachable (a click could only fail),
 * and while a sync is under way.
 */
export function SyncButton({ offline, pending, onSync }: { offline: boolean; pending: boolean; onSync: () => void }) {
  return (
    <div style={{ display: 'flex', flexDirection: 'column', alignItems: 'flex-end', gap: 4 }}>
      <button type="button" className="btn" onClick={onSync} disabled={pending || offline} title={offline ? SYNC_OFFLINE_WHY : undefined} aria-describedby={offline ? 'sync-offline-why' : undefined}>
        {pending ? 'Syncing…' : 'Sync now'}
      </button>
      {offline ? (
        <span id="sync-offline-why" className="muted" style={{ fontSize: 12, maxWidth: 320, textAlign: 'right' }}>
          Offline: showing the verified mirror.
        </span>
      ) : null}
    </div>
  );
}
