import type { Policy } from '../../../../shared/domain/policy';
import { PolicySchema } from '../../../../shared/domain/policy';
import type { BypassRequest, RequestState } from '../../../../shared/domain/request';
import type { Review } from '../../../../shared/domain/review';
import { type ReportInput, type ReportState, reportInputOf } from '../../../../grant-store/reports/report-input';

/** Thursday 26 November 2026, 12:00 UTC: ISO week 2026-W48, quarter 2026-Q4. */
export const NOW = new Date('2026-11-26T12:00:00.000Z');
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** `now - offset` as a server timestamp. */
export const ago = (offsetMs: number, now: Date = NOW): string => new Date(now.getTime() - offsetMs).toISOString();

export const policy: Policy = PolicySchema.parse({
  version: 1,
  tiers: {
    standard: { approvals: 1, approverGroups: ['leads'], maxTtl: '24h' },
    critical: { approvals: 2, approverGroups: ['security', 'leads'], maxTtl: '4h', allowSameTeam: false, attestationRequired: true, notify: ['ciso'] },
  },
  gates: [
    { id: 'integration', kind: 'slow', tier: 'standard' },
    { id: 'perf', kind: 'slow', tier: 'standard' },
    { id: 'image-signing', kind: 'safety', tier: 'critical' },
  ],
  teams: {
    payments: { members: ['alice', 'amir'], bypassBudget: 3 },
    search: { members: ['sam'], bypassBudget: 10 },
  },
  approvers: { leads: ['bob', 'carol'], security: ['sec1', 'sec2', 'carol'] },
});

export interface RequestSpec {
  id: string;
  gate?: string;
  team?: string;
  requester?: string;
  tier?: string;
  state?: RequestState;
  createdAt: string;
  activatedAt?: string | null;
  closedAt?: string | null;
  closedBy?: string | null;
  incidentRef?: string | null;
  standingScope?: string | null;
  emergencyCredential?: string | null;
  preApproval?: BypassRequest['preApproval'];
  approvals?: { approver: string; at: string }[];
}

/** A BypassRequest as the store reports it, with only what the reports read varied. */
export function request(spec: RequestSpec): BypassRequest {
  const gate = spec.gate ?? 'integration';
  const tier = spec.tier ?? policy.gates.find((g) => g.id === gate)?.tier ?? 'standard';
  const activatedAt = spec.activatedAt ?? null;
  return {
    id: spec.id,
    requester: spec.requester ?? 'alice',
    team: spec.team ?? 'payments',
    gate,
    scope: { repo: 'payments-api' },
    reason: 'checkout 500s in production, fix verified in staging',
    incidentRef: spec.incidentRef ?? null,
    severity: spec.incidentRef ? 'sev2' : 'sev3',
    ttl: '1h',
    extends: null,
    createdAt: spec.createdAt,
    digest: `sha256:${'0'.repeat(64)}`,
    state: spec.state ?? (activatedAt ? 'expired' : 'pending'),
    tier,
    gateKind: gate === 'image-signing' ? 'safety' : 'slow',
    approvalsRequired: tier === 'critical' ? 2 : 1,
    approvals: (spec.approvals ?? []).map((a) => ({ approver: a.approver, keyId: 'k', hardwareBacked: false, ttl: '1h', comment: '', at: a.at })),
    messages: [],
    standingScope: spec.standingScope ?? null,
    bypassId: activatedAt ? `byp_${spec.id}` : null,
    approvedTtl: activatedAt ? '1h' : null,
    activatedAt,
    expiresAt: activatedAt ? new Date(Date.parse(activatedAt) + HOUR).toISOString() : null,
    closedAt: spec.closedAt ?? null,
    lapsesAt: null,
    updatedAt: spec.createdAt,
    closeComment: null,
    closedBy: spec.closedBy ?? null,
    ...(spec.emergencyCredential ? { emergencyCredential: spec.emergencyCredential } : {}),
    ...(spec.preApproval ? { preApproval: spec.preApproval } : {}),
  };
}

/** A bypass that activated `offsetMs` before NOW (filed 5 minutes earlier, approved by bob). */
export function bypass(id: string, gate: string, offsetMs: number, extra: Partial<RequestSpec> = {}): BypassRequest {
  const activatedAt = ago(offsetMs);
  const createdAt = ago(offsetMs + 5 * MINUTE);
  return request({ id, gate, createdAt, activatedAt, approvals: [{ approver: 'bob', at: activatedAt }], ...extra });
}

export interface ReviewSpec {
  id: string;
  requestId?: string;
  gate?: string;
  team?: string;
  openedAt: string;
  completedAt?: string | null;
}

export function review(spec: ReviewSpec): Review {
  const completedAt = spec.completedAt ?? null;
  return {
    id: spec.id,
    requestId: spec.requestId ?? `req_of_${spec.id}`,
    gate: spec.gate ?? 'integration',
    requester: 'alice',
    team: spec.team ?? 'payments',
    state: completedAt ? 'reviewed' : 'review_open',
    openedAt: spec.openedAt,
    timeline: [],
    finding: completedAt ? 'justified' : null,
    note: completedAt ? 'justified: sev2 outage' : null,
    completedBy: completedAt ? 'bob' : null,
    completedAt,
  };
}

/** The full lists a report is computed from; evaluations count 1 unless given, on their request's team ('payments'). */
export function state(parts: { policy?: Policy; requests?: readonly BypassRequest[]; reviews?: readonly Review[]; evaluations?: readonly { gate: string; time: string; count?: number; team?: string }[]; blocksByGate?: Record<string, number> }): ReportState {
  return {
    policy: parts.policy ?? policy,
    requests: parts.requests ?? [],
    reviews: parts.reviews ?? [],
    blocksByGate: parts.blocksByGate ?? {},
    evaluations: (parts.evaluations ?? []).map((e) => ({ gate: e.gate, team: e.team ?? 'payments', time: e.time, count: e.count ?? 1 })),
  };
}

/** A report input from full lists (reportInputOf), as of NOW unless given. */
export function input(parts: Parameters<typeof state>[0] & { now?: Date }): ReportInput {
  return reportInputOf({ ...state(parts), now: parts.now ?? NOW });
}

/** One gate dominating: integration has 5 of the 7 bypasses of the last 30 days. */
export const dominatingGate = [
  bypass('req_int1', 'integration', 1 * DAY),
  bypass('req_int2', 'integration', 2 * DAY),
  bypass('req_int3', 'integration', 3 * DAY),
  bypass('req_int4', 'integration', 10 * DAY),
  bypass('req_int5', 'integration', 20 * DAY),
  bypass('req_int6', 'integration', 40 * DAY),
  bypass('req_int7', 'integration', 100 * DAY),
  bypass('req_perf1', 'perf', 5 * DAY),
  bypass('req_perf2', 'perf', 25 * DAY),
  // exactly 60 days ago: outside the 30-day window, inside the 90-day one
  bypass('req_sig1', 'image-signing', 60 * DAY),
  // requests that never became bypasses still count as requests
  request({ id: 'req_int_pending', gate: 'integration', createdAt: ago(HOUR) }),
  request({ id: 'req_perf_denied', gate: 'perf', state: 'denied', createdAt: ago(2 * DAY), closedAt: ago(2 * DAY - HOUR), closedBy: 'bob' }),
  // filed after `now`: ignored (a report can be replayed at a past `now`)
  bypass('req_future', 'integration', -DAY),
];
