import { randomBytes } from 'node:crypto';
import type { BypassRequest } from '../../shared/domain/request';

/**
 * An active bypass's request row as the store keeps it (filed by alice under a standing scope on
 * the slow `ci-tests` gate, active for an hour from now), for storage-level tests that write
 * rows directly. Each call has fresh ids; `team` is the requester's team.
 */
export function storedActiveRequest(team = 'payments'): BypassRequest {
  const at = new Date().toISOString();
  const id = `req_${randomBytes(10).toString('hex')}`;
  return {
    id,
    requester: 'alice',
    team,
    gate: 'ci-tests',
    scope: { repo: 'svc', branch: id },
    reason: 'a storage test: a bypass that warns confirm',
    incidentRef: null,
    severity: 'sev3',
    ttl: '1h',
    extends: null,
    createdAt: at,
    digest: `sha256:${'ab'.repeat(32)}`,
    state: 'active',
    tier: 'low',
    gateKind: 'slow',
    approvalsRequired: 1,
    approvals: [],
    messages: [],
    standingScope: 'ci',
    bypassId: `byp_${randomBytes(10).toString('hex')}`,
    approvedTtl: '1h',
    activatedAt: at,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    closedAt: null,
    lapsesAt: null,
    updatedAt: at,
    closeComment: null,
    closedBy: null,
  };
}
