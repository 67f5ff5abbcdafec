import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { Policy } from '../../shared/domain/policy';
import type { BypassRequest } from '../../shared/domain/request';
import type { Caller } from '../service/service-deps';
import { canSeeRequest } from '../service/visibility';

/**
 * Whether a caller's event stream carries this ledger entry: auditors and admins see all;
 * others see entries about requests they may see (canSeeRequest), and entries about
 * themselves (their tokens and keys).
 */
export async function entryVisible(
  policy: Policy,
  caller: Caller,
  entry: LedgerEntry,
  getRequest: (id: string) => Promise<Pick<BypassRequest, 'requester' | 'gate'> | undefined>,
): Promise<boolean> {
  if (caller.roles.includes('admin') || caller.roles.includes('auditor')) return true;
  if (entry.target.startsWith('req_')) {
    const request = await getRequest(entry.target);
    return request !== undefined && canSeeRequest(policy, caller, request);
  }
  return entry.target === caller.principal || (entry.data as { principal?: unknown }).principal === caller.principal;
}
