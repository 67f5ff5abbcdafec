import { AppError } from '../../shared/errors';
import type { Caller } from '../service/service-deps';
import type { StoredSession } from './stored-session';

/**
 * The caller a sign-in session stands for, judged at the server clock: roles as the IdP's groups
 * mapped them at sign-in (teams and approver groups come from the identity directory). An ended
 * or expired session is refused with what to do about it.
 */
export function sessionCaller(session: StoredSession | undefined, now: Date, sourceAddress: string | null): Caller {
  if (!session) throw new AppError('unauthenticated', 'unknown session: sign in again (breakglass login)');
  if (session.endedAt) throw new AppError('unauthenticated', `session ${session.id} was ended at ${session.endedAt} (signed out): sign in again (breakglass login)`);
  if (session.expiresAt <= now.toISOString()) throw new AppError('unauthenticated', `session ${session.id} expired at ${session.expiresAt}: sign in again (breakglass login)`);
  return { principal: session.principal, roles: session.roles, sourceAddress, sessionId: session.id };
}
