import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import type { DecisionSigner } from '../../../shared/node/signing/signer';
import { fileRequest, waitFor } from './workflow-helpers';

const MINUTE = 60_000;

/**
 * The whole story over HTTP on a critical tier: request → needs_info → reply → two distinct
 * signed approvals → check warns → other gate / other subject block → expiry by itself →
 * check blocks → review opened with the timeline → completed by someone other than the
 * requester → the ledger holds every step.
 */
describe('HTTP workflow: critical tier, end to end', () => {
  let f: StoreFixture;
  let alice: string;
  let gate: string;
  let bob: { token: string; signer: DecisionSigner };
  let carol: { token: string; signer: DecisionSigner };

  before(async () => {
    f = await startStoreFixture();
    alice = await f.token('alice', ['requester']);
    gate = await f.token('ci', ['gate']);
    // Attested keys: container-signing is a safety gate, whose tier takes attested keys only.
    bob = await f.approver('bob', { attested: true });
    carol = await f.approver('carol', { attested: true });
  });
  after(() => f?.close());

  test('the story', async () => {
    const subject = { repo: 'payments-api', branch: 'main' };
    const created = await f.call('POST', '/v1/requests', {
      token: alice,
      body: { gate: 'container-signing', scope: subject, reason: 'signing service is down; the sev1 fix must ship', incidentRef: 'INC-1190', severity: 'sev1', ttl: '1h' },
    });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json.approvers, ['bob', 'carol', 'erin', 'frank']);
    let req = created.json.request;
    assert.equal(req.state, 'pending');
    assert.equal(req.approvalsRequired, 2);
    assert.match(req.digest, /^sha256:[0-9a-f]{64}$/);

    const decide = async (who: { token: string; signer: DecisionSigner }, name: string, kind: 'approve' | 'deny' | 'request_info' | 'revoke', opts: { ttl?: string; comment?: string } = {}) =>
      f.call('POST', `/v1/requests/${req.id}/decisions`, { token: who.token, body: { bundle: await f.sign(req, name, who.signer, kind, opts) } });

    let r = await decide(bob, 'bob', 'request_info', { comment: 'which image digest exactly?' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.request.state, 'needs_info');
    assert.equal(r.json.decision.decision, 'request_info');

    r = await decide(carol, 'carol', 'approve');
    assert.equal(r.status, 409, 'no approval while waiting for information');
    assert.equal(r.json.error.currentState, 'needs_info');

    r = await f.call('POST', `/v1/requests/${req.id}/reply`, { token: alice, body: { message: 'sha256:abc on payments-api main only' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.request.state, 'pending');
    assert.deepEqual(r.json.request.messages.map((m: { kind: string }) => m.kind), ['question', 'reply']);

    r = await decide(bob, 'bob', 'approve', { ttl: '15m', comment: 'ok for the incident' });
    assert.equal(r.json.request.state, 'pending', 'one of two approvals');
    r = await decide(bob, 'bob', 'approve', { ttl: '15m' });
    assert.equal(r.status, 409, 'the same approver cannot count twice');
    assert.equal(r.json.error.code, 'conflict');

    r = await decide(carol, 'carol', 'approve', { ttl: '1h' });
    assert.equal(r.status, 200, r.text);
    req = r.json.request;
    assert.equal(req.state, 'active');
    assert.equal(req.approvedTtl, '15m', 'the shortest approved TTL wins');
    assert.equal(Date.parse(req.expiresAt) - Date.parse(req.activatedAt), 15 * MINUTE);
    assert.match(req.bypassId, /^byp_/);

    const check = (g: string, s: Record<string, string>) => f.call('POST', '/v1/checks', { token: gate, body: { gate: g, subject: s } });
    r = await check('container-signing', { ...subject, digest: 'sha256:abc' });
    assert.equal(r.json.verdict, 'warn', r.text);
    assert.deepEqual(r.json.bypass.approvers, ['bob', 'carol']);
    assert.equal(r.json.bypass.expiresAt, req.expiresAt);
    assert.match(r.json.message, /container-signing/);
    r = await check('ci-tests', subject);
    assert.equal(r.json.verdict, 'block', 'another gate still blocks');
    assert.match(r.json.requestCommand, /^breakglass request --gate ci-tests --scope branch=main,repo=payments-api /);
    r = await check('container-signing', { repo: 'payments-api', branch: 'dev' });
    assert.equal(r.json.verdict, 'block', 'another subject still blocks');
    assert.match(r.json.message, /container-signing/);

    // Expiry by itself from the server clock: no human action.
    f.clock.advance(15 * MINUTE + 1);
    const { value: expired, elapsedMs } = await waitFor(async () => {
      const got = await f.call('GET', `/v1/requests/${req.id}`, { token: alice });
      return got.json.request.state === 'expired' ? got.json.request : undefined;
    });
    assert.ok(elapsedMs < 1000, `expired after ${elapsedMs} ms`);
    assert.equal(expired.closedAt !== null, true);
    r = await check('container-signing', { ...subject, digest: 'sha256:abc' });
    assert.equal(r.json.verdict, 'block');

    const reviews = await f.call('GET', '/v1/reviews?state=review_open', { token: carol.token });
    const review = reviews.json.reviews.find((x: { requestId: string }) => x.requestId === req.id);
    assert.ok(review, 'a review opened by itself');
    assert.deepEqual(
      review.timeline.map((t: { type: string }) => t.type),
      ['request_created', 'decision', 'info_requested', 'info_provided', 'decision', 'decision', 'bypass_activated', 'evaluation_under_bypass', 'bypass_expired'],
    );

    const aliceAsReviewer = await f.token('alice', ['requester', 'approver']);
    r = await f.call('POST', `/v1/reviews/${review.id}/complete`, { token: aliceAsReviewer, body: { finding: 'justified', note: 'I think it was fine honestly' } });
    assert.equal(r.status, 403, 'the requester cannot review their own bypass');
    r = await f.call('POST', `/v1/reviews/${review.id}/complete`, { token: carol.token, body: { finding: 'fix_the_gate', note: 'signing service needs a fallback' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'reviewed');
    r = await f.call('POST', `/v1/reviews/${review.id}/complete`, { token: bob.token, body: { finding: 'justified', note: 'second opinion is no-op' } });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.currentState, 'reviewed');

    const ledger = await f.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: carol.token });
    const types = ledger.json.entries.filter((e: { target: string }) => e.target === req.id).map((e: { type: string }) => e.type);
    for (const type of ['request_created', 'info_requested', 'info_provided', 'decision', 'bypass_activated', 'evaluation_under_bypass', 'bypass_expired', 'review_opened', 'review_completed']) {
      assert.ok(types.includes(type), `ledger has ${type}`);
    }
    const decisionEntry = ledger.json.entries.find((e: { type: string; target: string }) => e.type === 'decision' && e.target === req.id);
    assert.equal(decisionEntry.kind, 'dsse');
    assert.equal(decisionEntry.data.bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    for (const e of ledger.json.entries) {
      // Entries outside carol's view (other principals' tokens) come redacted: seq and leaf hash only.
      if (e.redacted === true) {
        assert.deepEqual(Object.keys(e).sort(), ['leafHash', 'redacted', 'seq']);
        continue;
      }
      for (const field of ['seq', 'time', 'type', 'actor', 'actorRole', 'target', 'gate', 'reason', 'incidentRef', 'approver', 'expiresAt', 'sourceAddress', 'data']) assert.ok(field in e, `${e.type} has ${field}`);
    }
    const activated = ledger.json.entries.find((e: { type: string; target: string }) => e.type === 'bypass_activated' && e.target === req.id);
    assert.equal(activated.approver, 'bob,carol');
    assert.equal(activated.incidentRef, 'INC-1190');
    assert.equal(activated.sourceAddress, '127.0.0.1');
    const blocks = await f.call('GET', '/v1/history?gate=container-signing', { token: carol.token });
    assert.equal(blocks.json.gate.counts.last30Days, 1);
  });

  test('standing scope: activates on filing, the check names it', async () => {
    const req = await fileRequest(f, alice, { gate: 'perf-suite', scope: { repo: 'payments-api', branch: 'release' }, ttl: '7d', severity: 'sev4' });
    assert.equal(req.state, 'active');
    assert.equal(req.standingScope, 'payments-release-perf');
    assert.equal(req.approvedTtl, '7d');
    const r = await f.call('POST', '/v1/checks', { token: gate, body: { gate: 'perf-suite', subject: { repo: 'payments-api', branch: 'release', job: 'nightly' } } });
    assert.equal(r.json.verdict, 'warn');
    assert.match(r.json.message, /standing scope payments-release-perf/);
    // Outside the standing scope: a normal pending request, bounded by the tier max.
    const normal = await f.call('POST', '/v1/requests', { token: alice, body: { gate: 'perf-suite', scope: { repo: 'payments-api', branch: 'main' }, reason: 'perf suite flakes on main since the upgrade', severity: 'sev4', ttl: '7d' } });
    assert.equal(normal.status, 400);
    assert.equal(normal.json.error.fieldErrors[0].path, 'ttl');
  });

  test('extending: only an active bypass of the same requester, gate and scope', async () => {
    const base = await fileRequest(f, alice, { gate: 'perf-suite', scope: { repo: 'payments-api', branch: 'release' }, ttl: '24h', severity: 'sev4' });
    const pending = await fileRequest(f, alice);
    const bad = async (overrides: Record<string, unknown>) => {
      const r = await f.call('POST', '/v1/requests', { token: alice, body: { gate: 'perf-suite', scope: { repo: 'payments-api', branch: 'release' }, reason: 'need more time for the release perf run', severity: 'sev4', ttl: '24h', ...overrides } });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.fieldErrors[0].path, 'extends');
    };
    await bad({ extends: pending.id });
    await bad({ extends: base.id, gate: 'ci-tests', ttl: '1h' });
    await bad({ extends: base.id, scope: { repo: 'payments-api', branch: 'main' } });
    await bad({ extends: 'req_00000000000000000000000000' });
    const dave = await f.token('dave', ['requester']);
    const r = await f.call('POST', '/v1/requests', { token: dave, body: { gate: 'perf-suite', scope: { repo: 'payments-api', branch: 'release' }, reason: 'need more time for the release perf run', severity: 'sev4', ttl: '24h', extends: base.id } });
    assert.equal(r.status, 400, 'someone else cannot extend it');
    const ok = await fileRequest(f, alice, { gate: 'perf-suite', scope: { repo: 'payments-api', branch: 'release' }, ttl: '24h', severity: 'sev4', extends: base.id });
    assert.equal(ok.extends, base.id);
  });

  test('request validation: unknown gate, short reason, bad TTL, missing incident on sev1/sev2 (nothing written)', async () => {
    const before = await f.ledgerSize();
    const cases: [Record<string, unknown>, string][] = [
      [{ gate: 'nope' }, 'gate'],
      [{ reason: 'too short' }, 'reason'],
      [{ ttl: '2h' }, 'ttl'],
      [{ gate: 'container-signing', ttl: '4h', severity: 'sev3' }, 'ttl'],
      [{ severity: 'sev1' }, 'incidentRef'],
      [{ severity: 'sev2' }, 'incidentRef'],
      [{ scope: {} }, 'scope'],
      [{ scope: { repo: 'a b', branch: 'main' } }, 'scope.repo'],
    ];
    for (const [overrides, path] of cases) {
      const r = await f.call('POST', '/v1/requests', { token: alice, body: { gate: 'ci-tests', scope: { repo: 'x', branch: 'main' }, reason: 'a reason that is long enough to pass', severity: 'sev3', ttl: '1h', ...overrides } });
      assert.equal(r.status, 400, `${JSON.stringify(overrides)}: ${r.text}`);
      assert.ok(r.json.error.fieldErrors.some((e: { path: string }) => e.path === path), `${path} in ${r.text}`);
    }
    assert.equal(await f.ledgerSize(), before);
    const stranger = await f.token('zed', ['requester']);
    const r = await f.call('POST', '/v1/requests', { token: stranger, body: { gate: 'ci-tests', scope: { repo: 'x', branch: 'main' }, reason: 'a reason that is long enough to pass', severity: 'sev3', ttl: '1h' } });
    assert.equal(r.status, 403, 'a principal outside every team cannot file');
  });

  test('cancel: only the requester, only while open', async () => {
    const req = await fileRequest(f, alice);
    const other = await f.token('dave', ['requester']);
    let r = await f.call('POST', `/v1/requests/${req.id}/cancel`, { token: other, body: {} });
    assert.equal(r.status, 404, 'another requester does not even see it');
    r = await f.call('POST', `/v1/requests/${req.id}/cancel`, { token: alice, body: { comment: 'fixed the suite' } });
    assert.equal(r.json.request.state, 'cancelled');
    r = await f.call('POST', `/v1/requests/${req.id}/cancel`, { token: alice, body: {} });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.currentState, 'cancelled');
    r = await f.call('POST', `/v1/requests/${req.id}/reply`, { token: alice, body: { message: 'too late now' } });
    assert.equal(r.status, 409);
  });

  test('revoke: ends the bypass at once and opens a review', async () => {
    const req = await fileRequest(f, alice, { scope: { repo: 'ledger-api', branch: 'main' } });
    let r = await f.call('POST', `/v1/requests/${req.id}/decisions`, { token: bob.token, body: { bundle: await f.sign(req, 'bob', bob.signer, 'approve') } });
    assert.equal(r.json.request.state, 'active');
    r = await f.call('POST', '/v1/checks', { token: gate, body: { gate: 'ci-tests', subject: { repo: 'ledger-api', branch: 'main' } } });
    assert.equal(r.json.verdict, 'warn');
    r = await f.call('POST', `/v1/requests/${req.id}/decisions`, { token: bob.token, body: { bundle: await f.sign(req, 'bob', bob.signer, 'revoke', { comment: 'suite is green again' }) } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.request.state, 'revoked');
    r = await f.call('POST', '/v1/checks', { token: gate, body: { gate: 'ci-tests', subject: { repo: 'ledger-api', branch: 'main' } } });
    assert.equal(r.json.verdict, 'block');
    const reviews = await f.call('GET', '/v1/reviews', { token: bob.token });
    assert.ok(reviews.json.reviews.some((x: { requestId: string }) => x.requestId === req.id));
  });

  test('visibility: requesters see their own, approvers their tiers, auditors all', async () => {
    const dave = await f.token('dave', ['requester']);
    const daveReq = await fileRequest(f, dave, { scope: { repo: 'dave-only', branch: 'main' } });
    const mine = await f.call('GET', '/v1/requests', { token: alice });
    assert.ok(mine.json.requests.every((x: { requester: string }) => x.requester === 'alice'));
    assert.equal((await f.call('GET', `/v1/requests/${daveReq.id}`, { token: alice })).status, 404);
    const auditor = await f.token('audrey', ['auditor']);
    assert.equal((await f.call('GET', `/v1/requests/${daveReq.id}`, { token: auditor })).status, 200);
    const awaiting = await f.call('GET', '/v1/requests?awaiting=me', { token: bob.token });
    assert.ok(awaiting.json.requests.some((x: { id: string }) => x.id === daveReq.id));
    const carolAwaiting = await f.call('GET', '/v1/requests?awaiting=me', { token: carol.token });
    assert.ok(carolAwaiting.json.requests.some((x: { id: string }) => x.id === daveReq.id), 'carol is in oncall-leads');
    const open = await f.call('GET', '/v1/requests?state=open&limit=1000', { token: auditor });
    assert.ok(open.json.requests.length > 0);
    assert.ok(open.json.requests.every((x: { state: string }) => ['pending', 'needs_info', 'active'].includes(x.state)));
    const limited = await f.call('GET', '/v1/requests?limit=2', { token: auditor });
    assert.equal(limited.json.requests.length, 2);
    const erin = await f.approver('erin');
    const erinSees = await f.call('GET', `/v1/requests/${daveReq.id}`, { token: erin.token });
    assert.equal(erinSees.status, 404, 'erin approves only high/critical tiers');
  });

  test('history: counts, recent and team budget', async () => {
    const r = await f.call('GET', '/v1/history?requester=alice&team=payments&gate=perf-suite', { token: bob.token });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.requester.counts.last30Days >= 4);
    assert.ok(r.json.requester.recent.length > 0);
    assert.equal(r.json.team.budget, 6);
    assert.ok(r.json.team.usedThisQuarter >= 4);
    assert.ok(r.json.gate.counts.last90Days >= 3);
    const own = await f.call('GET', '/v1/history?requester=alice', { token: alice });
    assert.equal(own.status, 200);
    const others = await f.call('GET', '/v1/history?requester=dave', { token: alice });
    assert.equal(others.status, 403);
  });
});
