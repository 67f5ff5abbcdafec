import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { startStoreFixture, type CallResult, type StoreFixture } from '../../support/grant-store-fixture';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import { signDecision } from '../../../shared/node/signing/sign-decision';
import type { DecisionSigner } from '../../../shared/node/signing/signer';
import { newDecisionStatement } from '../../../shared/signing/decision-statement';
import { EXAMPLE_POLICY_PATH } from '../../../grant-store/policy/example-policy-path';
import { fileRequest } from './workflow-helpers';

type Approver = { token: string; signer: DecisionSigner };

/** Every way a decision must be refused, each leaving the ledger untouched. */
describe('HTTP decisions: refusals', () => {
  let f: StoreFixture;
  let alice: string;
  let bob: Approver;
  let carol: Approver;

  before(async () => {
    f = await startStoreFixture();
    alice = await f.token('alice', ['requester']);
    // Attested keys: container-signing is a safety gate, whose tier takes attested keys only.
    bob = await f.approver('bob', { attested: true });
    carol = await f.approver('carol', { attested: true });
  });
  after(() => f?.close());

  async function refused(call: () => Promise<CallResult>, status: number, code: string, message?: RegExp): Promise<CallResult> {
    const before = await f.ledgerSize();
    const r = await call();
    assert.equal(r.status, status, r.text);
    assert.equal(r.json.error.code, code, r.text);
    if (message) assert.match(r.json.error.message, message);
    assert.equal(await f.ledgerSize(), before, 'nothing written');
    return r;
  }
   
  const submit = (token: string, requestId: string, bundle: unknown) => f.call('POST', `/v1/requests/${requestId}/decisions`, { token, body: { bundle } });

  test('the requester can never approve their own request', async () => {
    const dave = await f.approver('dave', { roles: ['requester', 'approver'] });
    const req = await fileRequest(f, dave.token);
    await refused(async () => submit(dave.token, req.id, await f.sign(req, 'dave', dave.signer, 'approve')), 403, 'forbidden', /own request/);
  });

  test('a bundle for another request is refused (id and digest are bound)', async () => {
    const one = await fileRequest(f, alice, { scope: { repo: 'one', branch: 'main' } });
    const two = await fileRequest(f, alice, { scope: { repo: 'two', branch: 'main' } });
    const bundle = await f.sign(one, 'bob', bob.signer, 'approve');
    await refused(() => submit(bob.token, two.id, bundle), 422, 'verification_failed', /decides on/);
    // Right id, wrong digest (a statement made for a different version of the request).
    const forged = await f.sign({ ...two, digest: one.digest }, 'bob', bob.signer, 'approve');
    await refused(() => submit(bob.token, two.id, forged), 422, 'verification_failed', /digest/);
  });

  test('a replayed bundle is refused, even on another state', async () => {
    const req = await fileRequest(f, alice, { scope: { repo: 'replay', branch: 'main' } });
    const bundle = await f.sign(req, 'bob', bob.signer, 'approve');
    assert.equal((await submit(bob.token, req.id, bundle)).status, 200);
    await refused(() => submit(bob.token, req.id, bundle), 409, 'conflict', /replay/);
  });

  test('a tampered bundle fails verification', async () => {
    const req = await fileRequest(f, alice, { scope: { repo: 'tamper', branch: 'main' } });
    const bundle = await f.sign(req, 'bob', bob.signer, 'approve');
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    statement.ttl = '15m';
    const tampered = { ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, payload: Buffer.from(JSON.stringify(statement)).toString('base64') } };
    await refused(() => submit(bob.token, req.id, tampered), 422, 'verification_failed');
  });

  test('unknown key, someone else\'s key, a revoked key, a statement naming another approver', async () => {
    const req = await fileRequest(f, alice, { scope: { repo: 'keys', branch: 'main' } });
    const stray = fileKeySigner(generateSoftwareKeyPair().privateKeyPem);
    await refused(async () => submit(bob.token, req.id, await f.sign(req, 'bob', stray, 'approve')), 422, 'verification_failed');
    await refused(async () => submit(bob.token, req.id, await f.sign(req, 'carol', carol.signer, 'approve')), 403, 'forbidden', /enrolled for carol/);
    await refused(async () => submit(bob.token, req.id, await f.sign(req, 'carol', bob.signer, 'approve')), 403, 'forbidden', /signed as approver carol/);
    const erin = await f.approver('erin');
    const keys = await f.call('GET', '/v1/admin/approvers/erin/keys', { token: f.adminToken });
    const del = await f.call('DELETE', `/v1/admin/approvers/erin/keys/${keys.json.keys[0].keyId}`, { token: f.adminToken });
    assert.equal(del.status, 200, del.text);
    const high = await fileRequest(f, alice, { gate: 'deploy-freeze', scope: { repo: 'keys', branch: 'main' } });
    await refused(async () => submit(erin.token, high.id, await f.sign(high, 'erin', erin.signer, 'approve')), 403, 'forbidden', /revoked/);
  });

  test('an approval may shorten the TTL, never lengthen it', async () => {
    const req = await fileRequest(f, alice, { scope: { repo: 'ttl', branch: 'main' }, ttl: '1h' });
    await refused(async () => submit(bob.token, req.id, await f.sign(req, 'bob', bob.signer, 'approve', { ttl: '4h' })), 400, 'invalid_input', /never lengthen/);
    const ok = await submit(bob.token, req.id, await f.sign(req, 'bob', bob.signer, 'approve', { ttl: '15m' }));
    assert.equal(ok.json.request.approvedTtl, '15m');
  });

  test('approvers outside the tier groups, and same-team approvers where the tier forbids it', async () => {
    const lowReq = await fileRequest(f, alice, { scope: { repo: 'groups', branch: 'main' } });
    const frank = await f.approver('frank');
    await refused(async () => submit(frank.token, lowReq.id, await f.sign(lowReq, 'frank', frank.signer, 'approve')), 404, 'not_found');
    const bobAsRequester = await f.token('bob', ['requester']);
    const platformReq = await fileRequest(f, bobAsRequester, { gate: 'deploy-freeze', scope: { repo: 'platform-api', branch: 'main' } });
    const erin2 = await f.approver('erin', {});
    await refused(async () => submit(erin2.token, platformReq.id, await f.sign(platformReq, 'erin', erin2.signer, 'approve')), 403, 'forbidden', /requester's team/);
    const ok = await submit(carol.token, platformReq.id, await f.sign(platformReq, 'carol', carol.signer, 'approve'));
    assert.equal(ok.json.request.state, 'active');
  });

  test('decisions in illegal states → 409 with the current state', async () => {
    const req = await fileRequest(f, alice, { scope: { repo: 'states', branch: 'main' } });
    await refused(async () => submit(bob.token, req.id, await f.sign(req, 'bob', bob.signer, 'revoke', { comment: 'not active yet' })), 409, 'illegal_transition');
    const denied = await submit(bob.token, req.id, await f.sign(req, 'bob', bob.signer, 'deny', { comment: 'use the retry button' }));
    assert.equal(denied.json.request.state, 'denied');
    for (const kind of ['approve', 'deny', 'request_info', 'revoke'] as const) {
      const r = await refused(async () => submit(bob.token, req.id, await f.sign(req, 'bob', bob.signer, kind, { comment: 'too late for this' })), 409, 'illegal_transition');
      assert.equal(r.json.error.currentState, 'denied');
    }
    const active = await fileRequest(f, alice, { scope: { repo: 'states2', branch: 'main' } });
    await submit(bob.token, active.id, await f.sign(active, 'bob', bob.signer, 'approve'));
    for (const kind of ['approve', 'deny', 'request_info'] as const) {
      const r = await refused(async () => submit(carol.token, active.id, await f.sign(active, 'carol', carol.signer, kind, { comment: 'after activation' })), 409, 'illegal_transition');
      assert.equal(r.json.error.currentState, 'active');
    }
    const asked = await fileRequest(f, alice, { scope: { repo: 'states3', branch: 'main' } });
    await submit(bob.token, asked.id, await f.sign(asked, 'bob', bob.signer, 'request_info', { comment: 'why now?' }));
    const r = await refused(async () => submit(carol.token, asked.id, await f.sign(asked, 'carol', carol.signer, 'request_info', { comment: 'and why here?' })), 409, 'illegal_transition');
    assert.equal(r.json.error.currentState, 'needs_info');
  });

  test('two approvers racing on a two-approval tier activate exactly once', async () => {
    const erin = await f.approver('erin', { attested: true });
    const req = await fileRequest(f, alice, { gate: 'container-signing', scope: { repo: 'race', branch: 'main' }, incidentRef: 'INC-9', severity: 'sev1' });
    const [a, b, c] = await Promise.all([
      submit(bob.token, req.id, await f.sign(req, 'bob', bob.signer, 'approve')),
      submit(carol.token, req.id, await f.sign(req, 'carol', carol.signer, 'approve')),
      submit(erin.token, req.id, await f.sign(req, 'erin', erin.signer, 'approve')),
    ]);
    const statuses = [a, b, c].map((x) => x.status).sort();
    assert.deepEqual(statuses, [200, 200, 409], [a, b, c].map((x) => x.text).join('\n'));
    const ledger = await f.call('GET', '/v1/ledger/entries?from=0&limit=5000', { token: f.adminToken });
    const activations = ledger.json.entries.filter((e: { type: string; target: string }) => e.type === 'bypass_activated' && e.target === req.id);
    assert.equal(activations.length, 1);
  });
});

describe('HTTP decisions: hardware-key tiers', () => {
  let f: StoreFixture;
  before(async () => {
    // The example's high tier (deploy-freeze), made to take hardware-backed keys only.
    const yaml = (await readFile(EXAMPLE_POLICY_PATH, 'utf8')).replace(/hardwareKeyRequired: false\n {2}critical:/, 'hardwareKeyRequired: true\n  critical:');
    assert.match(yaml, /maxTtl: 4h\n {4}hardwareKeyRequired: true/);
    f = await startStoreFixture({ policyYaml: yaml });
  });
  after(() => f?.close());

  test('only keys enrolled as hardware-backed may approve', async () => {
    const alice = await f.token('alice', ['requester']);
    const soft = await f.approver('bob');
    const hard = await f.approver('carol', { hardwareBacked: true });
    const req = await fileRequest(f, alice, { gate: 'deploy-freeze', incidentRef: 'INC-1', severity: 'sev2' });
    const before = await f.ledgerSize();
    const r = await f.call('POST', `/v1/requests/${req.id}/decisions`, { token: soft.token, body: { bundle: await f.sign(req, 'bob', soft.signer, 'approve') } });
    assert.equal(r.status, 403, r.text);
    assert.match(r.json.error.message, /hardware-backed/);
    assert.equal(await f.ledgerSize(), before);
    const ok = await f.call('POST', `/v1/requests/${req.id}/decisions`, { token: hard.token, body: { bundle: await f.sign(req, 'carol', hard.signer, 'approve') } });
    assert.equal(ok.status, 200, ok.text);
    const detail = await f.call('GET', `/v1/requests/${req.id}`, { token: alice });
    assert.equal(detail.json.request.state, 'active');
    assert.ok(detail.json.request.approvals.every((x: { hardwareBacked: boolean }) => x.hardwareBacked));
    assert.equal(detail.json.decisions.length, 1);
    assert.equal('bundle' in detail.json.decisions[0], false);
  });

  test('a nonce reused with a different signature is still a replay', async () => {
    const alice = await f.token('alice', ['requester']);
    const dave = await f.approver('dave');
    const req1 = await fileRequest(f, alice, { scope: { repo: 'nonce1', branch: 'main' } });
    const req2 = await fileRequest(f, alice, { scope: { repo: 'nonce2', branch: 'main' } });
    const nonceHex = randomBytes(16).toString('hex');
    const sign = (id: string, digest: string) =>
      signDecision(newDecisionStatement({ request: { id, digest }, decision: 'approve', approver: 'dave', comment: 'ok', ttl: '1h', nonceHex, now: new Date() }), dave.signer);
    assert.equal((await f.call('POST', `/v1/requests/${req1.id}/decisions`, { token: dave.token, body: { bundle: await sign(req1.id, req1.digest) } })).status, 200);
    const r = await f.call('POST', `/v1/requests/${req2.id}/decisions`, { token: dave.token, body: { bundle: await sign(req2.id, req2.digest) } });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, 'conflict');
  });
});
