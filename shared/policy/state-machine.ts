import type { RequestState } from '../domain/request';
import { AppError } from '../errors';

/**
 * What can happen to a request. `approve` keeps a request pending (the threshold is not met
 * yet); `activate` is the approval that meets it. The store applies every change through
 * `nextState`, so an illegal one can never be written.
 */
export type RequestEvent = 'request_info' | 'reply' | 'approve' | 'activate' | 'deny' | 'cancel' | 'lapse' | 'expire' | 'revoke';

const TRANSITIONS: Record<RequestState, Partial<Record<RequestEvent, RequestState>>> = {
  pending: { request_info: 'needs_info', approve: 'pending', activate: 'active', deny: 'denied', cancel: 'cancelled', lapse: 'lapsed' },
  needs_info: { reply: 'pending', deny: 'denied', cancel: 'cancelled', lapse: 'lapsed' },
  active: { expire: 'expired', revoke: 'revoked' },
  denied: {},
  cancelled: {},
  lapsed: {},
  expired: {},
  revoked: {},
};

/** Whether `event` is allowed in `current`. */
export function canApply(current: RequestState, event: RequestEvent): boolean {
  return TRANSITIONS[current][event] !== undefined;
}

/** The state after `event`, or AppError('illegal_transition') carrying the current state (HTTP 409). */
export function nextState(current: RequestState, event: RequestEvent): RequestState {
  const next = TRANSITIONS[current][event];
  if (next === undefined) {
    const allowed = Object.keys(TRANSITIONS[current]);
    const hint = allowed.length > 0 ? `allowed: ${allowed.join(', ')}` : 'the request is closed';
    throw new AppError('illegal_transition', `cannot ${event.replace('_', ' ')} a request that is ${current} (${hint})`, { currentState: current });
  }
  return next;
}

/** The events allowed in `current` (for UIs and error messages). */
export function allowedEvents(current: RequestState): RequestEvent[] {
  return Object.keys(TRANSITIONS[current]) as RequestEvent[];
}
