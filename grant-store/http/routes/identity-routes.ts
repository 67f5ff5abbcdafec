import { history } from '../../service/history-service';
import { whoAmI } from '../../service/identity-service';
import type { RoutePlugin } from '../route-context';

/** Liveness, who am I, the policy in force, and bypass history. */
export const registerIdentityRoutes: RoutePlugin = (_app, { route, deps, witnesses }) => {
  // Witnesses below quorum are reported here but never fail liveness: they do not block the ledger.
  route('healthz', async () => {
    const status = await witnesses.status();
    return status ? { ok: true as const, witnesses: status } : { ok: true as const };
  });
  route('whoami', async ({ caller }) => whoAmI(deps, caller));
  route('policy', () => {
    const info = deps.policies.info;
    return { policy: info.policy, hash: info.hash, loadedAt: info.loadedAt };
  });
  route('history', async ({ caller, query }) => history(deps, caller, query));
};
