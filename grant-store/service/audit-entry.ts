import type { LedgerEntryType } from '../../shared/domain/ledger-entry';
import type { Role } from '../../shared/domain/common';
import type { NewLedgerEntry } from '../storage/store';
import type { Caller } from './service-deps';

export interface AuditFields {
  target: string;
  actorRole: Role | 'system';
  gate?: string | null;
  reason?: string | null;
  incidentRef?: string | null;
  approver?: string | null;
  expiresAt?: string | null;
  data?: Record<string, unknown>;
}

/**
 * A ledger entry with every audit field present (null when it does not apply), so an auditor's
 * export always has the same columns: who, what, when, why, which gate, who approved, until
 * when, from where.
 */
export function auditEntry(time: string, type: LedgerEntryType, caller: Caller, fields: AuditFields): NewLedgerEntry {
  return {
    time,
    type,
    actor: caller.principal === 'system' ? 'system' : caller.principal,
    actorRole: caller.principal === 'system' ? 'system' : fields.actorRole,
    target: fields.target,
    gate: fields.gate ?? null,
    reason: fields.reason ?? null,
    incidentRef: fields.incidentRef ?? null,
    approver: fields.approver ?? null,
    expiresAt: fields.expiresAt ?? null,
    sourceAddress: caller.sourceAddress,
    data: fields.data ?? {},
  };
}
