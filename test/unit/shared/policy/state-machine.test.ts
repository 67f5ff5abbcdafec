import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestStateSchema, type RequestState } from '../../../../shared/domain/request';
import { AppError } from '../../../../shared/errors';
import { allowedEvents, canApply, nextState, type RequestEvent } from '../../../../shared/policy/state-machine';

const EVENTS: RequestEvent[] = ['request_info', 'reply', 'approve', 'activate', 'deny', 'cancel', 'lapse', 'expire', 'revoke'];

/** The allowed transitions, written out independently of the implementation's table. */
const EXPECTED: Record<string, RequestState> = {
  'pending:request_info': 'needs_info',
  'pending:approve': 'pending',
  'pending:activate': 'active',
  'pending:deny': 'denied',
  'pending:cancel': 'cancelled',
  'pending:lapse': 'lapsed',
  'needs_info:reply': 'pending',
  'needs_info:deny': 'denied',
  'needs_info:cancel': 'cancelled',
  'needs_info:lapse': 'lapsed',
  'active:expire': 'expired',
  'active:revoke': 'revoked',
};

describe('request state machine', () => {
  for (const state of RequestStateSchema.options) {
    for (const event of EVENTS) {
      const expected = EXPECTED[`${state}:${event}`];
      test(`${state} + ${event} → ${expected ?? '409 illegal_transition'}`, () => {
        if (expected) {
          assert.equal(nextState(state, event), expected);
          assert.equal(canApply(state, event), true);
        } else {
          assert.equal(canApply(state, event), false);
          assert.throws(
            () => nextState(state, event),
            (error: unknown) => error instanceof AppError && error.code === 'illegal_transition' && error.currentState === state && error.status === 409,
          );
        }
      });
    }
  }

  test('terminal states allow nothing', () => {
    for (const state of ['denied', 'cancelled', 'lapsed', 'expired', 'revoked'] as const) assert.deepEqual(allowedEvents(state), []);
  });

  test('needs_info cannot be approved or activated directly (the requester must reply first)', () => {
    assert.throws(() => nextState('needs_info', 'approve'), /needs_info/);
    assert.throws(() => nextState('needs_info', 'activate'), /needs_info/);
  });
});
