import type { Policy } from '../../shared/domain/policy';
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

  private constructor(
    readonly path: string,
    initial: CurrentPolicy,
    private readonly now: () => Date,
  ) {
    this.current = initial;
  }

  static async load(path: string, now: () => Date = () => new Date()): Promise<PolicyHolder> {
    const loaded = await loadPolicyFile(path);
    return new PolicyHolder(path, { ...loaded, loadedAt: now().toISOString() }, now);
  }

  get policy(): Policy {
    return this.current.policy;
  }

  get info(): CurrentPolicy {
    return this.current;
  }

  /** Validate the file again; on success swap it in, on failure throw and keep the last good one. */
  async reload(): Promise<{ current: CurrentPolicy; changed: boolean }> {
    const loaded = await loadPolicyFile(this.path);
    const changed = loaded.hash !== this.current.hash;
    this.current = { ...loaded, loadedAt: this.now().toISOString() };
    return { current: this.current, changed };
  }
}
