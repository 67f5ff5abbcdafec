import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import type { CheckResult } from '../../../../shared/domain/check';
import { allowed, AdmissionReviewRequestSchema, denied, MAX_WARNING_LENGTH } from '../../../../shared/gates/admission/admission-review';
import { admissionDecision } from '../../../../shared/gates/admission/decision';
import { providerResponse, providerSystemError, ProviderRequestSchema, subjectsOfKeys } from '../../../../shared/gates/admission/gatekeeper';
import { KyvernoCheckRequestSchema } from '../../../../shared/gates/admission/kyverno';
import { workloadSubjects } from '../../../../shared/gates/admission/workload-subject';
import { parseRequestLink } from '../../../../shared/gates/request-link';

const fixture = async (name: string): Promise<unknown> => JSON.parse(await readFile(new URL(`../../../fixtures/admission/${name}`, import.meta.url), 'utf8')) as unknown;
const DIGEST = 'sha256:4f1c2e0b9a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b';

describe('the subject of an admitted workload', () => {
  test("a Deployment's Pod: namespace, deployment/<name> through the ReplicaSet and pod-template-hash, one subject per image, digest when pinned", async () => {
    const review = AdmissionReviewRequestSchema.parse(await fixture('admission-review-pod-create.json'));
    const s = workloadSubjects(review.request.kind.kind, review.request.object, review.request.namespace);
    assert.deepEqual(s.subjects, [
      { namespace: 'payments', workload: 'deployment/payments-api', image: `ghcr.io/acme/payments-api@${DIGEST}`, digest: DIGEST },
      { namespace: 'payments', workload: 'deployment/payments-api', image: 'ghcr.io/acme/log-shipper:2.3' },
    ]);
    assert.deepEqual(s.problems, []);
  });

  test('workload kinds: Deployment, CronJob, a Job of a CronJob, a bare Pod, an object without a pod spec', () => {
    const deployment = { metadata: { name: 'api', namespace: 'prod' }, spec: { template: { spec: { containers: [{ image: 'a:1' }] } } } };
    assert.deepEqual(workloadSubjects('Deployment', deployment).subjects, [{ namespace: 'prod', workload: 'deployment/api', image: 'a:1' }]);
    const cron = { metadata: { name: 'nightly' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [{ image: 'b:2' }] } } } } } };
    assert.deepEqual(workloadSubjects('CronJob', cron, 'batch').subjects, [{ namespace: 'batch', workload: 'cronjob/nightly', image: 'b:2' }]);
    const job = { metadata: { name: 'nightly-29000', ownerReferences: [{ kind: 'CronJob', name: 'nightly', controller: true }] }, spec: { template: { spec: { containers: [{ image: 'b:2' }] } } } };
    assert.equal(workloadSubjects('Job', job).workload, 'cronjob/nightly');
    assert.equal(workloadSubjects('Pod', { metadata: { name: 'debug' }, spec: { containers: [] } }).workload, 'pod/debug');
    assert.deepEqual(workloadSubjects('ConfigMap', { metadata: { name: 'cfg', namespace: 'prod' } }).subjects, [{ namespace: 'prod', workload: 'configmap/cfg' }]);
  });

  test('a value that cannot be a scope value is reported, not silently used', () => {
    const s = workloadSubjects('Pod', { metadata: { name: 'p', namespace: 'n' }, spec: { containers: [{ image: 'evil image,with=commas' }] } });
    assert.deepEqual(s.subjects, []);
    assert.match(s.problems[0] ?? '', /image "evil image,with=commas" cannot be a scope value/);
    const d = admissionDecision({ gate: 'image-signing', storeUrl: 'https://bg.example', results: [], problems: s.problems });
    assert.equal(d.bypassed, false, 'what cannot be checked blocks');
    assert.match(d.message, /^BLOCKED by gate image-signing \(fail closed\): image "evil image,with=commas" cannot be a scope value/);
    assert.equal(admissionDecision({ gate: 'g', storeUrl: 'https://bg.example', results: [] }).bypassed, false, 'no subject is no pass');
  });
});

describe('Gatekeeper external data (externaldata.gatekeeper.sh)', () => {
  test('the ProviderRequest parses; each key is a subject; a bad key is that item\'s error', async () => {
    const request = ProviderRequestSchema.parse(await fixture('gatekeeper-provider-request.json'));
    const subjects = subjectsOfKeys([...request.request.keys, 'not a subject']);
    assert.deepEqual(subjects[0], { key: request.request.keys[0], subject: { namespace: 'payments', workload: 'deployment/payments-api', image: `ghcr.io/acme/payments-api@${DIGEST}`, digest: DIGEST } });
    assert.match((subjects[2] as { error: string }).error, /"not a subject" is not key=value/);
  });

  test('the ProviderResponse has the published shape: apiVersion, kind, response.items[{key, value|error}], systemError', () => {
    const ok = providerResponse('externaldata.gatekeeper.sh/v1beta1', [{ key: 'k', error: 'bad' }]);
    assert.deepEqual(ok, { apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderResponse', response: { idempotent: false, items: [{ key: 'k', error: 'bad' }] } });
    assert.deepEqual(providerSystemError('externaldata.gatekeeper.sh/v1alpha1', 'unknown gate').response, { idempotent: false, items: [], systemError: 'unknown gate' });
    assert.ok(!ProviderRequestSchema.safeParse({ apiVersion: 'v1', kind: 'ProviderRequest', request: { keys: [] } }).success);
  });
});

describe('Kyverno apiCall and AdmissionReview v1', () => {
  test('the Kyverno body parses and its Deployment yields the subject', async () => {
    const body = KyvernoCheckRequestSchema.parse(await fixture('kyverno-apicall-body.json'));
    assert.deepEqual(workloadSubjects(body.kind, body.object, body.namespace).subjects, [{ namespace: 'payments', workload: 'deployment/payments-api', image: 'ghcr.io/acme/payments-api:1.42.1' }]);
  });

  test("the Kubernetes documentation's AdmissionReview parses; the answer echoes the uid, with warnings or a 403 status", async () => {
    const review = AdmissionReviewRequestSchema.parse(await fixture('admission-review-scale.json'));
    assert.equal(review.request.subResource, 'scale');
    const allow = allowed(review.request.uid, [`first\nline ${'x'.repeat(400)}`]);
    assert.equal(allow.response.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    assert.equal(allow.response.allowed, true);
    assert.equal(allow.response.warnings?.[0]?.length, MAX_WARNING_LENGTH);
    assert.doesNotMatch(allow.response.warnings?.[0] ?? '', /\n/);
    assert.deepEqual(denied('u', 'no').response, { uid: 'u', allowed: false, status: { code: 403, message: 'no' } });
    assert.ok(!AdmissionReviewRequestSchema.safeParse({ ...review, apiVersion: 'admission.k8s.io/v1beta1' }).success, 'v1 only');
  });
});

describe('one decision for the three endpoints', () => {
  const subject = { namespace: 'payments', workload: 'deployment/payments-api', image: 'ghcr.io/acme/log-shipper:2.3' };
  const warn = (id: string, s: Record<string, string>): CheckResult => ({
    verdict: 'warn',
    gate: 'image-signing',
    subject: s,
    message: 'WARN',
    requestCommand: null,
    bypass: { id, requestId: `req_${id}`, approvers: ['bob'], expiresAt: '2026-01-01T00:00:00.000Z', evaluationSeq: 7 },
    checkedAt: '2025-12-31T23:00:00.000Z',
  });
  const block: CheckResult = {
    verdict: 'block',
    gate: 'image-signing',
    subject,
    message: 'BLOCKED by gate image-signing: no active bypass covers it. To request a bypass: breakglass request --gate image-signing',
    requestCommand: 'breakglass request --gate image-signing',
    bypass: null,
    checkedAt: '2025-12-31T23:00:00.000Z',
  };

  test('every subject covered: bypassed, one warning per bypass', () => {
    const d = admissionDecision({ gate: 'image-signing', storeUrl: 'https://bg.example', results: [warn('byp_1', subject), warn('byp_1', { ...subject, image: 'x' })] });
    assert.equal(d.bypassed, true);
    assert.deepEqual(d.warnings, ['breakglass: gate image-signing passes under bypass byp_1 (request req_byp_1, approved by bob) until 2026-01-01T00:00:00.000Z; recorded in the ledger']);
  });

  test('one subject uncovered: blocked on it, with the request page for exactly that subject and no CLI command', () => {
    const d = admissionDecision({ gate: 'image-signing', storeUrl: 'https://bg.example', rule: 'verify-signature', context: { user: 'alice' }, results: [warn('byp_1', { ...subject, image: 'x' }), block] });
    assert.equal(d.bypassed, false);
    assert.ok(d.requestUrl, 'a link');
    const link = parseRequestLink(new URL(d.requestUrl).search);
    assert.deepEqual(link, { gate: 'image-signing', scope: subject, rule: 'verify-signature', context: { user: 'alice' } });
    assert.equal(d.message, `BLOCKED by gate image-signing: no active bypass covers it. Request a bypass: ${d.requestUrl}`);
  });
});
