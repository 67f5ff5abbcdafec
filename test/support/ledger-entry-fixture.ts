import type { NewLedgerEntry } from '../../grant-store/storage/store';

/**
 * A ledger entry for storage-level tests: every audit field present (null where the event has
 * none), stamped now. Tests override only what their scenario is about.
 */
export function ledgerEntry(overrides: Partial<NewLedgerEntry> & Pick<NewLedgerEntry, 'type' | 'target'>): NewLedgerEntry {
  return {
    time: new Date().toISOString(),
    actor: 'system',
    actorRole: 'system',
    gate: null,
    reason: null,
    incidentRef: null,
    approver: null,
    expiresAt: null,
    sourceAddress: null,
    data: {},
    ...overrides,
  };
}
