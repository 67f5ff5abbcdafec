import type { BypassRequest } from '../../shared/domain/request';
import { ttlToMs, type Ttl } from '../../shared/domain/ttl';
import { nextState } from '../../shared/policy/state-machine';
import { newId } from './ids';

/**
 * The request turned into an active bypass at `now`: the window is `ttl` from this moment
 * (activation, not filing), so a slow approval never eats into the approved time, and a
 * bypass never outlives what was approved.
 */
export function activate(request: BypassRequest, ttl: Ttl, now: Date): BypassRequest {
  const at = now.toISOString();
  return {
    ...request,
    state: nextState(request.state, 'activate'),
    bypassId: newId('byp'),
    approvedTtl: ttl,
    activatedAt: at,
    expiresAt: new Date(now.getTime() + ttlToMs(ttl)).toISOString(),
    lapsesAt: null,
    updatedAt: at,
  };
}
