import type { Policy } from '../../shared/domain/policy';
import { withMemberships, type Membership } from '../../shared/identity/membership';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { Store } from '../storage/store';

/**
 * What the IdP last said about each principal who signed in (from their latest session), so the
 * policy's rules see IdP teams and approver groups: who may approve a request, who is on the
 * requester's team, who sees which requests. Fed by `session_started` ledger entries (this
 * instance's and, with Postgres, every other's), loaded at start from the stored sessions.
 * A caller's own session is applied on top (its membership is the one they act with).
 */
export class IdentityDirectory {
  private members = new Map<string, { membership: Membership; at: string }>();
  private cached: { policy: Policy; effective: Policy } | undefined;
  private readonly unsubscribe: () => void;

  private constructor(store: Store) {
    this.unsubscribe = store.onLedgerAppended((entries) => this.apply(entries));
  }

  static async open(store: Store): Promise<IdentityDirectory> {
    const directory = new IdentityDirectory(store);
    for (const s of await store.latestSessions()) directory.set(s.principal, { team: s.team, approverGroups: s.approverGroups, roles: s.roles }, s.createdAt);
    return directory;
  }

  private set(principal: string, membership: Membership, at: string): void {
    const known = this.members.get(principal);
    if (known && known.at > at) return;
    this.members.set(principal, { membership, at });
    this.cached = undefined;
  }

  private apply(entries: readonly LedgerEntry[]): void {
    for (const entry of entries) {
      if (entry.type !== 'session_started') continue;
      const d = entry.data as { team?: string | null; approverGroups?: string[]; roles?: Membership['roles'] };
      this.set(entry.actor, { team: d.team ?? null, approverGroups: d.approverGroups ?? [], roles: d.roles ?? [] }, entry.time);
    }
  }

  /** The membership the IdP gave `principal` at their latest sign-in, if they ever signed in. */
  membershipOf(principal: string): Membership | undefined {
    return this.members.get(principal)?.membership;
  }

  /**
   * The policy with IdP memberships applied (cached per policy object until a sign-in changes
   * the directory), and the caller's own session membership on top when given.
   */
  policyFor(policy: Policy, caller?: { principal: string; membership?: Membership }): Policy {
    if (this.members.size === 0 && !caller?.membership) return policy;
    if (!this.cached || this.cached.policy !== policy) {
      this.cached = { policy, effective: withMemberships(policy, new Map([...this.members].map(([p, m]) => [p, m.membership]))) };
    }
    const effective = this.cached.effective;
    if (!caller?.membership) return effective;
    const mine = this.members.get(caller.principal)?.membership;
    if (mine && sameMembership(mine, caller.membership)) return effective;
    return withMemberships(effective, new Map([[caller.principal, caller.membership]]));
  }

  stop(): void {
    this.unsubscribe();
  }
}

function sameMembership(a: Membership, b: Membership): boolean {
  return a.team === b.team && a.approverGroups.join() === b.approverGroups.join();
}
