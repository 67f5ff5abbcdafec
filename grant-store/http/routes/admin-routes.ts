import { createTpmChallenge, createToken, enrollKey, listKeys, listTokens, revokeKey, revokeToken } from '../../service/identity-service';
import { reloadPolicy } from '../../service/policy-service';
import type { RoutePlugin } from '../route-context';

/** Tokens, approver keys and policy reload: admin only (the role is checked before any input); TPM challenges: approvers for themselves too. */
export const registerAdminRoutes: RoutePlugin = (_app, { route, deps }) => {
  route('createToken', async ({ caller, body }) => createToken(deps, caller, body));
  route('listTokens', async ({ caller }) => ({ tokens: await listTokens(deps, caller) }));
  route('revokeToken', async ({ caller, params }) => ({ token: await revokeToken(deps, caller, params.id) }));
  route('enrollKey', async ({ caller, params, body }) => enrollKey(deps, caller, params.principal, body));
  // Not admin-only: an approver asks for a challenge for itself (the service checks whom for).
  route('createTpmChallenge', async ({ caller, params, body }) => createTpmChallenge(deps, caller, params.principal, body));
  route('listKeys', async ({ caller, params }) => ({ keys: await listKeys(deps, caller, params.principal) }));
  route('revokeKey', async ({ caller, params }) => revokeKey(deps, caller, params.principal, params.keyId));
  route('reloadPolicy', async ({ caller }) => reloadPolicy(deps, caller));
};
