import type { Session } from '../../shared/ipc/contract';
import { useChannel } from '../bridge/queries';

/** The session is read everywhere; it works offline (main keeps it), so poll gently as a safety net. */
const SESSION_REFRESH_MS = 15_000;

export function useSession() {
  return useChannel('console:main:get-session', {}, { refetchInterval: SESSION_REFRESH_MS, staleTime: 5_000 });
}

/** Why store-bound actions are disabled right now, or null when they are allowed. */
export function offlineReason(session: Session | undefined): string | null {
  if (!session) return 'Connecting to the console…';
  if (session.connection.online) return null;
  return `The grant store is unreachable${session.connection.lastError ? ` (${session.connection.lastError})` : ''}: actions need the store and are disabled until it is back.`;
}

export function useOfflineReason(): string | null {
  return offlineReason(useSession().data);
}
