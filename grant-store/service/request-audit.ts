import type { BypassRequest } from '../../shared/domain/request';
import type { AuditFields } from './audit-entry';

/** The audit fields every request-related ledger entry carries. */
export function requestAudit(request: BypassRequest, extra: Omit<AuditFields, 'target'>): AuditFields {
  return {
    target: request.id,
    gate: request.gate,
    reason: request.reason,
    incidentRef: request.incidentRef,
    approver: request.approvals.length > 0 ? request.approvals.map((a) => a.approver).join(',') : null,
    expiresAt: request.expiresAt,
    ...extra,
  };
}
