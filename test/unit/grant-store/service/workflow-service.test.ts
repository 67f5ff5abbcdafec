import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { canonicalJsonBytes } from '../../../../shared/canonical-json';
import type { BypassRequest } from '../../../../shared/domain/request';
import { AppError } from '../../../../shared/errors';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../../shared/node/signing/software-signer';
import { signDecision } from '../../../../shared/node/signing/sign-decision';
import { newDecisionStatement } from '../../../../shared/signing/decision-statement';
import { checkGate } from '../../../../grant-store/service/check-service';
import { submitDecision } from '../../../../grant-store/service/decision-service';
import { quarterStart } from '../../../../grant-store/service/history-service';
import { createToken, enrollKey } from '../../../../grant-store/service/identity-service';
import { createRequest } from '../../../../grant-store/service/request-service';
import { completeReview, getReview, listReviews } from '../../../../grant-store/service/review-service';
import { closeBypass } from '../../../../grant-store/service/closure';
import { timelineItem, timelineOf, timelineSoFar, type TimelineSoFar } from '../../../../grant-store/service/timeline';
import { foldTimeline } from '../../../../shared/domain/review-timeline';
import { SYSTEM_CALLER } from '../../../../grant-store/service/service-deps';
import { startHarness, type Harness } from '../service-harness';

const MINUTE = 60_000;
const body = (overrides: Record<string, unknown> = {}) => ({ gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: 'the integration suite is down for the whole org', severity: 'sev3', ttl: '1h', ...overrides });

describe('grant store service', () => {
  let h: Harness;
  const bobKey = generateSoftwareKeyPair();
  before(async () => {
    h = await startHarness();
    await enrollKey(h.deps, h.caller('root', 'admin'), 'bob', { publicKeyPem: bobKey.publicKeyPem });
  });
  after(() => h?.close());

  const approve = async (request: BypassRequest, ttl = request.ttl) => {
    const statement = newDecisionStatement({ request, decision: 'approve', approver: 'bob', comment: 'fine', ttl, nonceHex: randomBytes(16).toString('hex'), now: new Date(h.now.ms) });
    return submitDecision(h.deps, h.caller('bob', 'approver'), request.id, { bundle: await signDecision(statement, fileKeySigner(bobKey.privateKeyPem)) });
  };

  test('a filed request: server time, digest over exactly the canonical fields, lapse deadline, audit fields', async () => {
    const { request, approvers } = await createRequest(h.deps, h.caller('alice', 'requester'), body({ incidentRef: 'INC-5' }));
    assert.equal(request.createdAt, new Date(h.now.ms).toISOString());
    const canonical = { id: request.id, requester: 'alice', team: 'payments', gate: 'ci-tests', scope: request.scope, reason: request.reason, incidentRef: 'INC-5', severity: 'sev3', ttl: '1h', extends: null, createdAt: request.createdAt };
    assert.equal(request.digest, `sha256:${createHash('sha256').update(canonicalJsonBytes(canonical)).digest('hex')}`);
    assert.deepEqual(approvers, ['bob', 'carol', 'dave']);
    const [entry] = await h.store.ledgerEntriesForTarget(request.id);
    assert.equal(entry?.type, 'request_created');
    assert.equal(entry?.actor, 'alice');
    assert.equal(entry?.actorRole, 'requester');
    assert.equal(entry?.gate, 'ci-tests');
    assert.equal(entry?.incidentRef, 'INC-5');
    assert.equal(entry?.sourceAddress, '127.0.0.1');
  });

  test('the bypass window runs from activation, not from filing', async () => {
    const { request } = await createRequest(h.deps, h.caller('alice', 'requester'), body({ scope: { repo: 'window', branch: 'main' } }));
    h.now.ms += 30 * MINUTE;
    const { request: active } = await approve(request, '15m');
    assert.equal(active.activatedAt, new Date(h.now.ms).toISOString());
    assert.equal(active.expiresAt, new Date(h.now.ms + 15 * MINUTE).toISOString());
  });

  test('a check judges expiry by the server clock at that instant, before any sweep', async () => {
    const { request } = await createRequest(h.deps, h.caller('alice', 'requester'), body({ scope: { repo: 'edge', branch: 'main' } }));
    const { request: active } = await approve(request, '15m');
    const gate = h.caller('ci', 'gate');
    h.now.ms = Date.parse(active.expiresAt!) - 1;
    assert.equal((await checkGate(h.deps, gate, { gate: 'ci-tests', subject: { repo: 'edge', branch: 'main' } })).verdict, 'warn');
    h.now.ms += 1;
    assert.equal((await checkGate(h.deps, gate, { gate: 'ci-tests', subject: { repo: 'edge', branch: 'main' } })).verdict, 'block');
    assert.equal((await h.store.getRequest(request.id))?.state, 'active', 'the sweeper has not run, yet the gate blocks');
    const blocks = await h.store.gateBlockCounts();
    assert.ok((blocks.find((b) => b.gate === 'ci-tests')?.count ?? 0) >= 1);
  });

  test('closure opens a review pre-filled from the ledger; only someone other than the requester completes it', async () => {
    const { request } = await createRequest(h.deps, h.caller('alice', 'requester'), body({ scope: { repo: 'review', branch: 'main' } }));
    await approve(request);
    await checkGate(h.deps, h.caller('ci', 'gate'), { gate: 'ci-tests', subject: { repo: 'review', branch: 'main' } });
    const { review } = await h.store.transaction(async (tx) => closeBypass(tx, (await tx.getRequest(request.id))!, 'expire', SYSTEM_CALLER, new Date(h.now.ms), null, h.deps.policies.policy));
    assert.deepEqual(review.timeline.map((t) => t.type), ['request_created', 'decision', 'bypass_activated', 'evaluation_under_bypass', 'bypass_expired']);
    // Assigned to the tier's eligible approvers who took no part (bob approved; dave may, same team allowed on this tier).
    assert.deepEqual(review.approvedBy, ['bob']);
    assert.deepEqual(review.assignedTo, ['carol', 'dave']);
    const opened = (await h.store.ledgerEntriesForTarget(request.id)).find((e) => e.type === 'review_opened');
    assert.deepEqual((opened?.data as { assignedTo?: string[] }).assignedTo, ['carol', 'dave']);
    assert.match(review.timeline[0]!.summary, /alice requested a 1h bypass of ci-tests/);
    await assert.rejects(completeReview(h.deps, h.caller('alice', 'approver'), review.id, { finding: 'justified', note: 'looks fine to me' }), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
    await assert.rejects(completeReview(h.deps, h.caller('ci', 'gate'), review.id, { finding: 'justified', note: 'looks fine to me' }), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
    const done = await completeReview(h.deps, h.caller('audrey', 'auditor'), review.id, { finding: 'not_justified', note: 'a retry would have worked' });
    assert.equal(done.completedBy, 'audrey');
    assert.equal(done.selfReview, false);
    // A second closure of the same request is impossible.
    await assert.rejects(
      h.store.transaction(async (tx) => closeBypass(tx, (await tx.getRequest(request.id))!, 'expire', SYSTEM_CALLER, new Date(h.now.ms), null, h.deps.policies.policy)),
      (e: unknown) => e instanceof AppError && e.code === 'illegal_transition',
    );
  });

  test('a bypass evaluated many times: its review folds the run into one item (the review stays small), and serves a review stored unfolded folded', async () => {
    const { request } = await createRequest(h.deps, h.caller('alice', 'requester'), body({ scope: { repo: 'busy', branch: 'main' } }));
    await approve(request);
    const EVALUATIONS = 120;
    for (let i = 0; i < EVALUATIONS; i++) {
      h.now.ms += 1_000;
      assert.equal((await checkGate(h.deps, h.caller('ci', 'gate'), { gate: 'ci-tests', subject: { repo: 'busy', branch: 'main' } })).verdict, 'warn');
    }
    const { review } = await h.store.transaction(async (tx) => closeBypass(tx, (await tx.getRequest(request.id))!, 'expire', SYSTEM_CALLER, new Date(h.now.ms), null, h.deps.policies.policy));
    assert.deepEqual(review.timeline.map((t) => t.type), ['request_created', 'decision', 'bypass_activated', 'evaluation_under_bypass', 'bypass_expired']);
    const evaluations = (await h.store.ledgerEntriesForTarget(request.id)).filter((e) => e.type === 'evaluation_under_bypass');
    const run = review.timeline[3]!;
    assert.equal(run.seq, evaluations[0]!.seq);
    assert.equal(run.time, evaluations[0]!.time);
    assert.deepEqual(run.run, { count: EVALUATIONS, lastSeq: evaluations.at(-1)!.seq, lastTime: evaluations.at(-1)!.time });
    assert.ok(JSON.stringify(review).length < 4_000, `the review is ${JSON.stringify(review).length} characters`);
    // The ledger entry still counts every entry on the timeline.
    const opened = (await h.store.ledgerEntriesForTarget(request.id)).find((e) => e.type === 'review_opened');
    assert.equal((opened?.data as { timelineLength: number }).timelineLength, EVALUATIONS + 4);
    // A review stored before folding (one item per evaluation) is served folded, and completed folded.
    const unfolded = { ...review, timeline: [...review.timeline.slice(0, 3), ...evaluations.map((e) => ({ seq: e.seq, time: e.time, type: e.type, actor: e.actor, summary: 'gate ci-tests evaluated under the bypass' })), review.timeline[4]!] };
    await h.store.transaction((tx) => tx.updateReview(unfolded));
    const served = await getReview(h.deps, h.caller('audrey', 'auditor'), review.id);
    assert.deepEqual(served.timeline.map((t) => t.run?.count ?? 1), [1, 1, 1, EVALUATIONS, 1]);
    assert.deepEqual((await listReviews(h.deps, h.caller('audrey', 'auditor'), { state: 'review_open' })).reviews.find((r) => r.id === review.id)?.timeline.length, 5);
    await completeReview(h.deps, h.caller('audrey', 'auditor'), review.id, { finding: 'fix_the_gate', note: 'the suite is far too slow' });
    assert.equal((await h.store.getReview(review.id))?.timeline.length, 5, 'written back folded');
  });

  test('the timeline of a review, read by runs, is the fold of every entry of the request, runs by several gates and short runs included', async () => {
    const { request } = await createRequest(h.deps, h.caller('alice', 'requester'), body({ scope: { repo: 'two-gates', branch: 'main' } }));
    await approve(request);
    // The timeline read so far after every evaluation: runs cut anywhere, short ones that grow long.
    const readsSoFar: TimelineSoFar[] = [await timelineSoFar(h.store, request.id)];
    for (const [principal, times] of [['ci', 5], ['cd', 1], ['ci', 2], ['cd', 40], ['ci', 3]] as const) {
      for (let i = 0; i < times; i++) {
        h.now.ms += 1_000;
        assert.equal((await checkGate(h.deps, h.caller(principal, 'gate'), { gate: 'ci-tests', subject: { repo: 'two-gates', branch: 'main' } })).verdict, 'warn');
        readsSoFar.push(await timelineSoFar(h.store, request.id));
      }
    }
    const { review } = await h.store.transaction(async (tx) => closeBypass(tx, (await tx.getRequest(request.id))!, 'revoke', h.caller('bob', 'approver'), new Date(h.now.ms), 'fixed', h.deps.policies.policy, readsSoFar[20]));
    const entries = (await h.store.ledgerEntriesForTarget(request.id)).filter((e) => e.type !== 'review_opened' && e.type !== 'review_completed');
    assert.deepEqual(review.timeline, foldTimeline(entries.map(timelineItem)));
    assert.deepEqual(review.timeline.map((t) => `${t.actor}:${t.run?.count ?? 1}`), ['alice:1', 'bob:1', 'bob:1', 'ci:5', 'cd:1', 'ci:1', 'ci:1', 'cd:40', 'ci:3', 'bob:1']);
    // Whatever was read before, the rest read after gives the same timeline.
    for (const [i, soFar] of readsSoFar.entries()) assert.deepEqual(await timelineOf(h.store, request.id, soFar), review.timeline, `read so far after ${i} evaluations`);
    // Read in steps of any size, the same.
    const whole = await timelineSoFar(h.store, request.id);
    for (const step of [1, 2, 3, 7, 40]) assert.deepEqual(await timelineSoFar(h.store, request.id, step), whole, `steps of ${step}`);
    assert.deepEqual(whole.items, review.timeline, 'read after the closure: the whole timeline');
  });

  test('reviewing your own approval is allowed but recorded: selfReview on the review and its ledger entry', async () => {
    const { request } = await createRequest(h.deps, h.caller('alice', 'requester'), body({ scope: { repo: 'self-review', branch: 'main' } }));
    await approve(request);
    const { review } = await h.store.transaction(async (tx) => closeBypass(tx, (await tx.getRequest(request.id))!, 'revoke', h.caller('bob', 'approver'), new Date(h.now.ms), 'done early', h.deps.policies.policy));
    const done = await completeReview(h.deps, h.caller('bob', 'approver'), review.id, { finding: 'justified', note: 'I approved it; the suite was down' });
    assert.equal(done.selfReview, true);
    const completed = (await h.store.ledgerEntriesForTarget(request.id)).find((e) => e.type === 'review_completed');
    assert.equal((completed?.data as { selfReview?: boolean }).selfReview, true);
    assert.equal((await h.store.getReview(review.id))?.selfReview, true);
  });

  test('quarter boundaries for the team budget', () => {
    assert.equal(quarterStart(new Date('2026-06-22T03:14:07.000Z')).toISOString(), '2026-04-01T00:00:00.000Z');
    assert.equal(quarterStart(new Date('2026-01-01T00:00:00.000Z')).toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(quarterStart(new Date('2026-12-31T23:59:59.999Z')).toISOString(), '2026-10-01T00:00:00.000Z');
  });

  test('nobody can get a token as "system" (the actor of expiry and lapse entries)', async () => {
    await assert.rejects(createToken(h.deps, h.caller('root', 'admin'), { principal: 'System', roles: ['admin'] }), (e: unknown) => e instanceof AppError && e.fieldErrors?.[0]?.path === 'principal');
  });

  test('key enrollment rejects keys that are not P-256 or Ed25519', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await assert.rejects(enrollKey(h.deps, h.caller('root', 'admin'), 'bob', { publicKeyPem: rsa }), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && e.fieldErrors?.[0]?.path === 'publicKeyPem');
  });
});
