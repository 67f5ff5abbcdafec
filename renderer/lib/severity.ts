import type { Severity } from '../../shared/domain/common';
import type { BypassRequest } from '../../shared/domain/request';

const SEVERITY_RANK: Record<Severity, number> = { sev1: 0, sev2: 1, sev3: 2, sev4: 3 };

export const SEVERITY_LABEL: Record<Severity, string> = {
  sev1: 'Critical incident',
  sev2: 'Major incident',
  sev3: 'Minor impact',
  sev4: 'No customer impact',
};

/** Inbox order: most severe first, then the one waiting longest. */
export function compareInbox(a: Pick<BypassRequest, 'severity' | 'createdAt'>, b: Pick<BypassRequest, 'severity' | 'createdAt'>): number {
  const bySeverity = SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
  if (bySeverity !== 0) return bySeverity;
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
}

export function severityAtLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITY_RANK[severity] <= SEVERITY_RANK[threshold];
}
