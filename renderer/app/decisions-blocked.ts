import type { Session } from '../../shared/ipc/contract';

export const STORE_UNREACHABLE_WHY = 'The grant store is unreachable: decisions need the store and are disabled until it is back.';

/**
 * Why no decision (approve, deny, ask, revoke) can be made in this session right now, or null:
 * the store is unreachable, it halted its ledger (it refuses every decision), or it rejected the
 * token. Said once, where the buttons are, so a disabled button never goes unexplained.
 */
export function decisionsBlockedWhy(session: Session): string | null {
  const { connection } = session;
  if (connection.status === 'token_rejected') return 'The store rejected your API token: sign in again to decide.';
  if (connection.status === 'log_halted') return 'The store halted its ledger: it refuses every decision until an operator has checked the log.';
  if (!connection.online) return STORE_UNREACHABLE_WHY;
  return null;
}
