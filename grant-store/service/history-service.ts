import { HistoryQuerySchema, type History } from '../../shared/domain/api';
import { parseOrThrow } from '../../shared/errors';
import { AppError } from '../../shared/errors';
import type { RequestFilter } from '../storage/store';
import { canSeeRequest } from '../../shared/policy/visibility';
import { hasRole } from './access';
import type { Caller, ServiceDeps } from './service-deps';

const DAY_MS = 86_400_000;
const RECENT_LIMIT = 10;
/** A gate bypassed this often in 30 days is flagged: maybe the gate, not the people, needs fixing. */
const FREQUENT_BYPASS_THRESHOLD_30D = 5;

/** First instant (UTC) of the calendar quarter containing `now`. */
export function quarterStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), Math.floor(now.getUTCMonth() / 3) * 3, 1));
}

/**
 * Bypass history shown next to a request: how often this requester, team and gate needed a
 * bypass (requests that became active) in the last 30 and 90 days, recent requests, and the
 * team's quarterly budget use. The counts are totals (how often, not what); the recent requests
 * listed are only those the caller may see (shared/policy/visibility.ts).
 */
export async function history(deps: ServiceDeps, caller: Caller, rawQuery: unknown): Promise<History> {
  const query = parseOrThrow(HistoryQuerySchema, rawQuery, 'query');
  const privileged = hasRole(caller, 'approver', 'auditor', 'admin');
  if (!privileged && (query.requester !== caller.principal || query.team || query.gate)) {
    throw new AppError('forbidden', 'requesters may only see their own history (?requester=<you>)');
  }
  const now = deps.clock();
  const since = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
  const counts = async (filter: RequestFilter) => ({
    last30Days: await deps.store.countRequests({ ...filter, activatedSince: since(30) }),
    last90Days: await deps.store.countRequests({ ...filter, activatedSince: since(90) }),
  });
  const policy = deps.policies.policy;
  const recent = async (filter: RequestFilter) => (await deps.store.listRequests({ ...filter, limit: RECENT_LIMIT })).filter((r) => canSeeRequest(policy, caller, r));
  const out: History = { requester: null, team: null, gate: null };
  if (query.requester) {
    out.requester = { name: query.requester, counts: await counts({ requester: query.requester }), recent: await recent({ requester: query.requester }) };
  }
  if (query.team) {
    out.team = {
      name: query.team,
      counts: await counts({ team: query.team }),
      recent: await recent({ team: query.team }),
      budget: policy.teams[query.team]?.bypassBudget ?? 0,
      usedThisQuarter: await deps.store.countRequests({ team: query.team, activatedSince: quarterStart(now).toISOString() }),
    };
  }
  if (query.gate) {
    const gateCounts = await counts({ gate: query.gate });
    out.gate = { id: query.gate, counts: gateCounts, frequentlyBypassed: gateCounts.last30Days >= FREQUENT_BYPASS_THRESHOLD_30D };
  }
  return out;
}
