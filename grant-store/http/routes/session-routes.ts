import { AppError } from '../../../shared/errors';
import { authConfig } from '../../identity/auth-config';
import { endSession, startSession } from '../../identity/session-service';
import { workloadCheckInput } from '../../identity/workload-check';
import { answerCheck } from '../../service/check-service';
import type { ServiceDeps } from '../../service/service-deps';
import type { RoutePlugin } from '../route-context';

function identityOf(deps: ServiceDeps) {
  if (!deps.identity) throw new AppError('unavailable', 'this grant store was started without sign-in and workload identity');
  return deps.identity;
}

/**
 * Sign-in through the organisation's IdP (how to sign in, a session from an ID token, sign-out)
 * and the gate check of a CI workload, whose bearer is its job's OIDC ID token (verified by the
 * auth hook; the subject comes from the token's claims).
 */
export const registerSessionRoutes: RoutePlugin = (_app, { route, deps }) => {
  route('authConfig', () => authConfig(deps.policies.declared));
  route('createSession', async ({ body, request }) => startSession(identityOf(deps).sessionDeps, body, request.socket.remoteAddress ?? null));
  route('endSession', async ({ caller }) => ({ session: await endSession(identityOf(deps).sessionDeps, caller.sessionId, caller.sourceAddress) }));
  route('workloadCheck', ({ caller, body }) => {
    if (!caller.workload) throw new AppError('unauthenticated', "a workload check is authenticated by the CI job's OIDC ID token");
    return answerCheck(deps, caller, workloadCheckInput(caller.workload, body));
  });
};
