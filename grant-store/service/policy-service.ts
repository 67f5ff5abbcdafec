import type { Caller, ServiceDeps } from './service-deps';
import { auditEntry } from './audit-entry';
import { requireRole } from './access';

const POLICY_HASH_META = 'policy_hash';

/**
 * Record the current policy in the ledger when its hash differs from the last one recorded
 * (a restart with the same file adds nothing; any edit, even a comment, is recorded).
 */
export async function recordPolicyLoaded(deps: ServiceDeps, caller: Caller): Promise<boolean> {
  const info = deps.policies.info;
  return deps.store.transaction(async (tx) => {
    if ((await tx.getMeta(POLICY_HASH_META)) === info.hash) return false;
    await tx.setMeta(POLICY_HASH_META, info.hash);
    await tx.appendLedger([
      auditEntry(info.loadedAt, 'policy_loaded', caller, {
        target: info.hash,
        actorRole: 'admin',
        // The content, not only its hash: an auditor replays the ledger under the policy in force
        // at each entry (shared/ledger/semantic-audit.ts), and `source` hashes back to `hash`.
        data: { hash: info.hash, path: info.path, gates: info.policy.gates.map((g) => g.id), tiers: Object.keys(info.policy.tiers), source: info.source, policy: info.policy },
      }),
    ]);
    return true;
  });
}

/** Admin reload: a broken file throws (400 with line and field) and the last good policy stays. */
export async function reloadPolicy(deps: ServiceDeps, caller: Caller): Promise<{ hash: string; loadedAt: string; changed: boolean }> {
  requireRole(caller, 'admin');
  const { current } = await deps.policies.reload();
  const changed = await recordPolicyLoaded(deps, caller);
  // A new identity section may trust new issuers: fetch their keys now, not at the first token.
  if (changed) deps.identity?.warm();
  return { hash: current.hash, loadedAt: current.loadedAt, changed };
}
