import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import { parseRequestLink } from '../../../shared/gates/request-link';
import { activeBypass } from '../../support/bypass-fixture';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';

const POLICY = `version: 1
ttlChoices: [15m, 1h]
tiers:
  low: { approvals: 1, approverGroups: [leads], maxTtl: 1h }
gates:
  - { id: image-admission, kind: slow, tier: low, scopeKeys: [namespace, workload] }
  - { id: freeze, kind: slow, tier: low, scopeKeys: [namespace, workload, image] }
teams:
  payments: { members: [alice] }
approvers:
  leads: [bob]
`;

const fixture = async (name: string) => JSON.parse(await readFile(new URL(`../../fixtures/admission/${name}`, import.meta.url), 'utf8'));
const DIGEST = 'sha256:4f1c2e0b9a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b';

describe('Kubernetes admission endpoints (Gatekeeper external data, Kyverno apiCall, AdmissionReview v1)', () => {
  let fx: StoreFixture;
  let gateToken: string;
  const post = (path: string, body: unknown, token = gateToken) => fx.call('POST', path, { token, body });
  const evaluations = async (): Promise<LedgerEntry[]> => {
    const r = await fx.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: fx.adminToken });
    return (r.json.entries as LedgerEntry[]).filter((e) => e.type === 'evaluation_under_bypass');
  };

  before(async () => {
    fx = await startStoreFixture({ policyYaml: POLICY });
    gateToken = await fx.token('k8s-admission', ['gate']);
  });
  after(async () => fx?.close());

  test('Gatekeeper: one item per key, blocked with the pre-filled request page; a bad key is its own error; whole-request failures are systemError', async () => {
    const request = await fixture('gatekeeper-provider-request.json');
    const r = await post('/v1/admission/gatekeeper/image-admission', request);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.apiVersion, 'externaldata.gatekeeper.sh/v1beta1');
    assert.equal(r.json.kind, 'ProviderResponse');
    assert.equal(r.json.response.idempotent, false);
    assert.equal(r.json.response.systemError, undefined);
    assert.deepEqual(r.json.response.items.map((i: { key: string }) => i.key), request.request.keys);
    for (const item of r.json.response.items) {
      assert.equal(item.value.bypassed, false);
      assert.equal(item.value.verdict, 'block');
      assert.match(item.value.message, /^BLOCKED by gate image-admission .* Request a bypass: http:\/\/127\.0\.0\.1:\d+\/request\?gate=image-admission&scope=/);
      assert.doesNotMatch(item.value.message, /breakglass request --gate/, 'the link is the way out, not a CLI command');
      const link = parseRequestLink(new URL(item.value.requestUrl).search);
      assert.equal(link.gate, 'image-admission');
      assert.equal(link.scope.namespace, 'payments');
    }

    const withBad = await post('/v1/admission/gatekeeper/image-admission', { ...request, request: { keys: ['namespace=payments', 'not a subject'] } });
    assert.equal(withBad.json.response.items[0].value.verdict, 'block');
    assert.match(withBad.json.response.items[1].error, /key/);

    const unknownGate = await post('/v1/admission/gatekeeper/no-such-gate', request);
    assert.equal(unknownGate.status, 200);
    assert.deepEqual(unknownGate.json.response.items, []);
    assert.match(unknownGate.json.response.systemError, /^breakglass: .*unknown gate "no-such-gate"/);
    const notADocument = await post('/v1/admission/gatekeeper/image-admission', { apiVersion: 'externaldata.gatekeeper.sh/v1alpha1', kind: 'Provider', request: { keys: [] } });
    assert.equal(notADocument.status, 400);
    assert.deepEqual(notADocument.json.error.fieldErrors, [{ path: 'kind', message: 'must be ProviderRequest' }]);
    const requester = await post('/v1/admission/gatekeeper/image-admission', request, await fx.token('rita', ['requester']));
    assert.equal(requester.status, 403);
    const anonymous = await fx.call('POST', '/v1/admission/gatekeeper/image-admission', { body: request });
    assert.equal(anonymous.status, 401);
  });

  test('under a bypass every key passes, each evaluation recorded with its context; a Pod of the Deployment is covered by a workload-scoped bypass', async () => {
    const bypass = await activeBypass(fx, 'image-admission', { namespace: 'payments', workload: 'deployment/payments-api' });
    const before = (await evaluations()).length;
    const request = await fixture('gatekeeper-provider-request.json');
    const r = await post('/v1/admission/gatekeeper/image-admission', request);
    for (const item of r.json.response.items) {
      assert.equal(item.value.bypassed, true, JSON.stringify(item));
      assert.equal(item.value.verdict, 'warn');
      assert.equal(item.value.bypassId, bypass.bypassId);
      assert.equal(item.value.expiresAt, bypass.expiresAt);
      assert.equal(item.value.requestUrl, null);
    }
    const recorded = (await evaluations()).slice(before);
    assert.equal(recorded.length, 2, 'one evaluation per key');
    assert.deepEqual(recorded.map((e) => (e.data as { context: Record<string, string> }).context.admission), ['gatekeeper', 'gatekeeper']);
    assert.equal(recorded[0]!.actor, 'k8s-admission');

    // AdmissionReview of a Pod the Deployment's ReplicaSet creates: allowed, with warnings and an audit annotation.
    const review = await fixture('admission-review-pod-create.json');
    const allowed = await post('/v1/admission/review/image-admission', review);
    assert.equal(allowed.status, 200, allowed.text);
    assert.equal(allowed.json.apiVersion, 'admission.k8s.io/v1');
    assert.equal(allowed.json.kind, 'AdmissionReview');
    assert.equal(allowed.json.response.uid, review.request.uid);
    assert.equal(allowed.json.response.allowed, true);
    assert.equal(allowed.json.response.warnings.length, 1, 'one warning per bypass, not per image');
    assert.match(allowed.json.response.warnings[0], new RegExp(`^breakglass: gate image-admission passes under bypass ${bypass.bypassId} \\(request ${bypass.id}, approved by bob\\) until ${bypass.expiresAt!.replace(/[.]/g, '\\.')}; recorded in the ledger$`));
    assert.ok(allowed.json.response.warnings[0].length <= 256);
    assert.deepEqual(allowed.json.response.auditAnnotations, { bypasses: bypass.bypassId, gate: 'image-admission' });
    const podEvaluations = (await evaluations()).slice(before + 2);
    assert.equal(podEvaluations.length, 2, 'two distinct images: two evaluations');
    const data = podEvaluations.map((e) => e.data as { subject: Record<string, string>; context: Record<string, string> });
    assert.deepEqual(data[0]!.subject, { namespace: 'payments', workload: 'deployment/payments-api', image: `ghcr.io/acme/payments-api@${DIGEST}`, digest: DIGEST });
    assert.deepEqual(data[0]!.context, { admission: 'admission-review', uid: review.request.uid, operation: 'CREATE', user: 'system:serviceaccount:kube-system:replicaset-controller', kind: 'Pod', name: 'payments-api-7d9f8c6b5-x2k4q', namespace: 'payments' });

    // A dry run is answered the same, and records nothing (sideEffects: NoneOnDryRun).
    const size = (await evaluations()).length;
    const dry = await post('/v1/admission/review/image-admission', { ...review, request: { ...review.request, dryRun: true } });
    assert.equal(dry.json.response.allowed, true);
    assert.equal((await evaluations()).length, size);

    // Revoked: the same Pod is denied at once.
    const bob = await fx.approver('bob');
    const revoked = await fx.call('POST', `/v1/requests/${bypass.id}/decisions`, { token: bob.token, body: { bundle: await fx.sign(bypass, 'bob', bob.signer, 'revoke', { comment: 'rolled back' }) } });
    assert.equal(revoked.status, 200, revoked.text);
    const denied = await post('/v1/admission/review/image-admission', review);
    assert.equal(denied.json.response.allowed, false);
  });

  test('AdmissionReview: denied with 403 and the request page for exactly the uncovered image; scale subresource names the parent; DELETE passes', async () => {
    const review = await fixture('admission-review-pod-create.json');
    const before = (await evaluations()).length;
    // Only the api image is covered: the log-shipper blocks the Pod.
    await activeBypass(fx, 'freeze', { namespace: 'payments', workload: 'deployment/payments-api', image: `ghcr.io/acme/payments-api@${DIGEST}` });
    const r = await post('/v1/admission/review/freeze', review);
    assert.equal(r.status, 200);
    assert.equal(r.json.response.uid, review.request.uid);
    assert.equal(r.json.response.allowed, false);
    assert.equal(r.json.response.status.code, 403);
    assert.equal(r.json.response.warnings, undefined);
    const url = /Request a bypass: (\S+)$/.exec(r.json.response.status.message)?.[1];
    assert.ok(url, r.json.response.status.message);
    const link = parseRequestLink(new URL(url).search);
    assert.deepEqual(link.scope, { namespace: 'payments', workload: 'deployment/payments-api', image: 'ghcr.io/acme/log-shipper:2.3' });
    assert.equal(link.context.operation, 'CREATE');
    assert.equal(link.context.user, 'system:serviceaccount:kube-system:replicaset-controller');
    assert.equal((await evaluations()).length, before, 'a refused object records no evaluation, not even for its covered image');

    const scale = await fixture('admission-review-scale.json');
    // A scale subresource has no image: image-admission (namespace, workload) names its parent.
    const scaled = await post('/v1/admission/review/image-admission', scale);
    assert.equal(scaled.json.response.allowed, false);
    const scaleLink = parseRequestLink(new URL(/Request a bypass: (\S+)$/.exec(scaled.json.response.status.message)![1]!).search);
    assert.deepEqual(scaleLink.scope, { namespace: 'my-namespace', workload: 'deployment/my-deployment' });

    const deletion = await post('/v1/admission/review/freeze', { ...scale, request: { ...scale.request, operation: 'DELETE', object: null } });
    assert.deepEqual(deletion.json.response, { uid: scale.request.uid, allowed: true });

    const unknown = await post('/v1/admission/review/nope', review);
    assert.equal(unknown.json.response.allowed, false);
    assert.match(unknown.json.response.status.message, /^breakglass: .*unknown gate "nope"/);
    const notReview = await post('/v1/admission/review/freeze', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: review.request });
    assert.equal(notReview.status, 400);
    assert.match(notReview.json.error.message, /apiVersion/);
  });

  test('Kyverno apiCall: the documented body; blocked with the link, covered by a bypass of its workload, dry run not recorded', async () => {
    const body = await fixture('kyverno-apicall-body.json');
    const blocked = await post('/v1/admission/kyverno/image-admission', { ...body, namespace: 'checkout', object: { ...body.object, metadata: { ...body.object.metadata, namespace: 'checkout' } } });
    assert.equal(blocked.status, 200, blocked.text);
    assert.equal(blocked.json.bypassed, false);
    assert.equal(blocked.json.verdict, 'block');
    assert.match(blocked.json.message, /Request a bypass: http:\/\/127\.0\.0\.1:\d+\/request\?gate=image-admission&scope=namespace%3Dcheckout%2Cworkload%3Ddeployment%2Fpayments-api&rule=require-signed-images%2Fverify-signature/);
    assert.deepEqual(blocked.json.subjects, [{ namespace: 'checkout', workload: 'deployment/payments-api', image: 'ghcr.io/acme/payments-api:1.42.1' }]);

    const bypass = await activeBypass(fx, 'image-admission', { namespace: 'payments', workload: 'deployment/payments-api' });
    const before = (await evaluations()).length;
    const passed = await post('/v1/admission/kyverno/image-admission', body);
    assert.equal(passed.json.bypassed, true);
    assert.equal(passed.json.verdict, 'warn');
    assert.equal(passed.json.requestUrl, null);
    assert.deepEqual(passed.json.bypasses, [{ id: bypass.bypassId, requestId: bypass.id, expiresAt: bypass.expiresAt }]);
    const recorded = (await evaluations()).slice(before);
    assert.equal(recorded.length, 1);
    assert.deepEqual((recorded[0]!.data as { context: Record<string, string> }).context, { admission: 'kyverno', kind: 'Deployment', namespace: 'payments', rule: 'require-signed-images/verify-signature' });
    const dry = await post('/v1/admission/kyverno/image-admission', { ...body, dryRun: 'true' });
    assert.equal(dry.json.bypassed, true);
    assert.equal((await evaluations()).length, before + 1, 'the dry run recorded nothing');

    const bad = await post('/v1/admission/kyverno/image-admission', { namespace: 'payments', object: {} });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.error.fieldErrors, [{ path: 'kind', message: 'is required' }]);
    const requester = await fx.token('mallory', ['requester']);
    const refused = await post('/v1/admission/kyverno/image-admission', body, requester);
    assert.equal(refused.status, 403);
  });
});
