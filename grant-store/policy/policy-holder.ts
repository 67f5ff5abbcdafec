import type { Policy } from '../../shared/domain/policy';
import type { SafetyGateRelaxation } from '../../shared/policy/safety-gates';
import { loadPolicyFile, type LoadedPolicy } from './load-policy';

export interface CurrentPolicy extends LoadedPolicy {
  loadedAt: string;
}

/**
 * The policy the store enforces right now. `reload` validates the file first and only then
 * swaps it in, so a broken edit never replaces the last good policy. `onLoaded` runs for each
 * successfully loaded policy (the store records a policy_loaded ledger entry there).
 */
export class PolicyHolder {
  private current: CurrentPolicy;
  private view: ((policy: Policy) => Policy) | undefined;

  private constructor(
    readonly path: string,
    initial: CurrentPolicy,
    private readonly now: () => Date,
    private readonly relax: SafetyGateRelaxation | undefined,
  ) {
    this.current = initial;
  }

  /** `relax`: the `npm start` demo's relaxation (shared/policy/safety-gates.ts), kept for reloads; nothing else passes it. */
  static async load(path: string, now: () => Date = () => new Date(), relax?: SafetyGateRelaxation): Promise<PolicyHolder> {
    const loaded = await loadPolicyFile(path, relax);
    return new PolicyHolder(path, { ...loaded, loadedAt: now().toISOString() }, now, relax);
  }

  /**
   * The policy the rules apply: the file's, seen through the view when one is set (the identity
   * directory puts people who signed in through the IdP on the teams and approver groups their
   * IdP groups map to).
   */
  get policy(): Policy {
    return this.view ? this.view(this.current.policy) : this.current.policy;
  }

  /** The policy exactly as the file declares it (its hash is what the ledger records). */
  get declared(): Policy {
    return this.current.policy;
  }

  /** Set (or clear) the view `policy` is seen through; it must be cheap and return the same object while nothing changed. */
  setView(view: ((policy: Policy) => Policy) | undefined): void {
    this.view = view;
  }

  get info(): CurrentPolicy {
    return this.current;
  }

  /** Validate the file again; on success swap it in, on failure throw and keep the last good one. */
  async reload(): Promise<{ current: CurrentPolicy; changed: boolean }> {
    const loaded = await loadPolicyFile(this.path, this.relax);
    const changed = loaded.hash !== this.current.hash;
    this.current = { ...loaded, loadedAt: this.now().toISOString() };
    return { current: this.current, changed };
  }
}
