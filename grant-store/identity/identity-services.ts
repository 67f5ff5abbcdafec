import type { PolicyHolder } from '../policy/policy-holder';
import type { Store } from '../storage/store';
import { IdentityDirectory } from './identity-directory';
import { IssuerKeys, type IdentityLogger } from './issuer-keys';
import { SessionCache } from './session-cache';
import type { SessionServiceDeps } from './session-service';
import { WorkloadAuthenticator } from './workload-authenticator';

/**
 * The store's sign-in and workload identity parts, built once per store: the trusted issuers'
 * keys, the session lookup cache, the directory of what the IdP last said about each person, and
 * the gate authenticator for CI tokens. The directory is applied to the policy holder, so every
 * rule that asks "who is on which team, who approves for which group" (separation of duties,
 * eligible approvers, visibility) sees the IdP's groups of everyone who signed in.
 */
export interface IdentityServices {
  keys: IssuerKeys;
  sessions: SessionCache;
  directory: IdentityDirectory;
  workloads: WorkloadAuthenticator;
  /** What the session service needs, bound to this store. */
  sessionDeps: SessionServiceDeps;
  /** Fetch the keys of every issuer the policy in force trusts (at start and after a reload). */
  warm(): void;
  stop(): void;
}

export async function startIdentityServices(options: { store: Store; policies: PolicyHolder; clock: () => Date; logger?: IdentityLogger }): Promise<IdentityServices> {
  const { store, policies, clock } = options;
  const keys = new IssuerKeys({ logger: options.logger });
  const sessions = new SessionCache(store);
  const directory = await IdentityDirectory.open(store);
  // The authenticator and the session service read the policy as written (its identity section),
  // not the view with IdP memberships, which changes at every sign-in.
  const declared = () => policies.declared;
  const workloads = new WorkloadAuthenticator(keys, declared, clock);
  policies.setView((policy) => directory.policyFor(policy));
  return {
    keys,
    sessions,
    directory,
    workloads,
    sessionDeps: { store, policy: declared, clock, keys },
    warm() {
      const identity = declared().identity;
      keys.warm([...(identity?.oidc ? [identity.oidc.issuer] : []), ...(identity?.workloads?.issuers.map((i) => i.issuer) ?? [])]);
    },
    stop() {
      policies.setView(undefined);
      sessions.stop();
      directory.stop();
    },
  };
}
