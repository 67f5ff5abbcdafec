import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startExpirySweeper } from '../../../../grant-store/jobs/expiry-sweeper';
import { createRequest } from '../../../../grant-store/service/request-service';
import { startHarness, type Harness } from '../service-harness';

const HOUR = 3_600_000;
const standingBody = (ttl: string) => ({
  gate: 'perf-suite',
  scope: { repo: 'payments-api', branch: 'release' },
  reason: 'release ships before the nightly perf run ends',
  severity: 'sev4',
  ttl,
});
const pendingBody = { gate: 'ci-tests', scope: { repo: 'x', branch: 'main' }, reason: 'the suite is red for reasons outside our change', severity: 'sev4', ttl: '1h' };

describe('expiry sweeper', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h?.close());

  test('expires each bypass and opens its review exactly once, however many sweeps race', async () => {
    const alice = h.caller('alice', 'requester');
    const created = await Promise.all([1, 2, 3].map(() => createRequest(h.deps, alice, standingBody('1h'))));
    const sweeper = startExpirySweeper(h.deps, 1_000_000);
    try {
      assert.equal(await sweeper.sweep(), 0, 'nothing is due yet');
      h.now.ms += HOUR;
      const results = await Promise.all([sweeper.sweep(), sweeper.sweep(), sweeper.sweep(), sweeper.sweep()]);
      assert.equal(results.reduce((a, b) => a + b, 0), 3);
      for (const { request } of created) {
        const fresh = await h.store.getRequest(request.id);
        assert.equal(fresh?.state, 'expired');
        const entries = await h.store.ledgerEntriesForTarget(request.id);
        assert.equal(entries.filter((e) => e.type === 'bypass_expired').length, 1);
        assert.equal(entries.filter((e) => e.type === 'review_opened').length, 1);
        assert.ok(await h.store.getReviewByRequest(request.id));
      }
      assert.equal(await sweeper.sweep(), 0);
    } finally {
      await sweeper.stop();
    }
  });

  test('a pending request nobody decides lapses after the decision window', async () => {
    const alice = h.caller('alice', 'requester');
    const { request } = await createRequest(h.deps, alice, pendingBody);
    assert.equal(request.lapsesAt, new Date(h.now.ms + 24 * HOUR).toISOString());
    const sweeper = startExpirySweeper(h.deps, 1_000_000);
    try {
      h.now.ms += 24 * HOUR - 1;
      await sweeper.sweep();
      assert.equal((await h.store.getRequest(request.id))?.state, 'pending');
      h.now.ms += 1;
      assert.equal(await sweeper.sweep(), 1);
      const lapsed = await h.store.getRequest(request.id);
      assert.equal(lapsed?.state, 'lapsed');
      assert.equal(lapsed?.closedAt, new Date(h.now.ms).toISOString());
      const entries = await h.store.ledgerEntriesForTarget(request.id);
      assert.deepEqual(entries.map((e) => e.type), ['request_created', 'request_lapsed']);
      assert.equal(await h.store.getReviewByRequest(request.id), undefined, 'a lapse opens no review (nothing was bypassed)');
    } finally {
      await sweeper.stop();
    }
  });

  test('the precise timer fires at the deadline without waiting for the interval', async () => {
    const alice = h.caller('alice', 'requester');
    // Real time drives the timer: put the deadline 120 ms ahead of the clock.
    const realStart = Date.now();
    const offset = h.now.ms - realStart;
    const realClock = () => new Date(Date.now() + offset);
    const deps = { ...h.deps, clock: realClock };
    const { request } = await createRequest(deps, alice, standingBody('15m'));
    assert.equal(request.state, 'active');
    // Pretend most of the window has passed: move the clock offset so 120 ms remain.
    const remaining = 120;
    const shift = Date.parse(request.expiresAt!) - (Date.now() + offset) - remaining;
    const shifted = () => new Date(Date.now() + offset + shift);
    const sweeper = startExpirySweeper({ ...h.deps, clock: shifted }, 1_000_000);
    try {
      const started = Date.now();
      for (;;) {
        if ((await h.store.getRequest(request.id))?.state === 'expired') break;
        assert.ok(Date.now() - started < 2000, 'expired within 2 s');
        await new Promise((r) => setTimeout(r, 5));
      }
      const late = Date.now() - started - remaining;
      assert.ok(late < 200, `expired ${late} ms after its deadline`);
    } finally {
      await sweeper.stop();
    }
  });
});
