import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../../shared/errors';
import type { TpmAttestationInput } from '../../../../shared/domain/identity';
import type { AttestationRoot } from '../../../../shared/domain/policy';
import type { BypassRequest } from '../../../../shared/domain/request';
import type { DecisionSigner } from '../../../../shared/node/signing/signer';
import { signDecision } from '../../../../shared/node/signing/sign-decision';
import { tpmEnrollmentAttestation } from '../../../../shared/node/tpm/tpm-certify';
import { handleText, tpmKeySigner } from '../../../../shared/node/tpm/tpm-keys';
import { newDecisionStatement } from '../../../../shared/signing/decision-statement';
import { EXAMPLE_POLICY_PATH } from '../../../../grant-store/policy/example-policy-path';
import { verifyTpmAttestation } from '../../../../grant-store/identity/tpm-attestation';
import { submitDecision } from '../../../../grant-store/service/decision-service';
import { enrollKey } from '../../../../grant-store/service/identity-service';
import { createRequest } from '../../../../grant-store/service/request-service';
import { createTpmCa, type TpmCa } from '../../../support/tpm-attestation-ca';
import { startSwtpm, type Swtpm, type TpmKey } from '../../../support/swtpm';
import { startHarness, type Harness } from '../service-harness';
import { withAttestationRoot } from '../../../support/grant-store-fixture';

// The harness clock; certifications are made "now" on this clock.
const NOW = new Date('2026-06-22T03:14:07.000Z');

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, 'invalid_input');
    assert.equal(error.fieldErrors?.[0]?.path, 'attestation');
    return error.message;
  }
  assert.fail('expected the attestation to be refused');
}

/** Flip one byte of a base64 field. */
function flip(b64: string, at: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[at] = bytes[at]! ^ 0x01;
  return bytes.toString('base64');
}

describe('TPM 2.0 key certification (real swtpm)', () => {
  let tpm: Swtpm;
  let ca: TpmCa;
  let roots: AttestationRoot[];
  let key: TpmKey;
  let ak: TpmKey;
  let akCert: string;
  let good: TpmAttestationInput;
  let h: Harness;
  let dir: string;
  const certify = (k: TpmKey, principal = 'bob', akHandle = ak.handle, certificates = [akCert]) =>
    tpmEnrollmentAttestation({ tcti: tpm.tcti, keyHandle: k.handle, akHandle, publicArea: k.publicArea, akCertificates: certificates, principal, now: NOW });
  const ctx = (now = NOW, principal = 'bob') => ({ principal, roots, now });

  before(async () => {
    tpm = await startSwtpm();
    ca = await createTpmCa(NOW);
    roots = [{ id: 'test-tpm-ca', kind: 'tpm', certificate: ca.rootPem }];
    key = await tpm.createKey();
    ak = await tpm.createKey({ restricted: true });
    akCert = await ca.issueAk(ak.publicKeyPem);
    good = await certify(key);
    dir = await mkdtemp(join(tmpdir(), 'bg-tpm-attest-'));
    // The example policy: its low tier requires attested keys, and the test CA is a tpm root.
    const example = await readFile(EXAMPLE_POLICY_PATH, 'utf8');
    const policy = withAttestationRoot(example.replace('    maxTtl: 24h\n    hardwareKeyRequired: false\n', '    maxTtl: 24h\n    hardwareKeyRequired: true\n    attestationRequired: true\n'), 'test-tpm-ca', ca.rootPem, 'tpm');
    assert.notEqual(policy, example);
    await writeFile(join(dir, 'policy.yaml'), policy);
    h = await startHarness(join(dir, 'policy.yaml'));
  });
  after(async () => {
    await h?.close();
    await tpm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a key the TPM certified, by an AK chaining to a policy root, is attested with its attributes', () => {
    const attested = verifyTpmAttestation(good, key.publicKeyPem, ctx());
    assert.equal(attested.kind, 'tpm');
    assert.equal(attested.root, 'test-tpm-ca');
    assert.equal(attested.serial, '5a17c0de01');
    assert.deepEqual({ ...attested.policy, firmwareVersion: undefined }, { fixedTPM: true, fixedParent: true, sensitiveDataOrigin: true, userWithAuth: true, adminWithPolicy: false, noDA: false, firmwareVersion: undefined });
    assert.match(String(attested.policy.firmwareVersion), /^0x[0-9a-f]{16}$/);
  });

  test('refused, naming what failed: magic, signature, nonce, name, key, chain, EKU, fixedTPM', async () => {
    assert.match(refusal(() => verifyTpmAttestation({ ...good, certifyInfo: flip(good.certifyInfo, 0) }, key.publicKeyPem, ctx())), /bad magic 0xfe544347/);
    // A byte of extraData changed: only the signature can tell.
    assert.match(refusal(() => verifyTpmAttestation({ ...good, certifyInfo: flip(good.certifyInfo, 10 + 34 + 2) }, key.publicKeyPem, ctx())), /signature over certifyInfo does not verify/);
    assert.match(refusal(() => verifyTpmAttestation({ ...good, signature: flip(good.signature, 10) }, key.publicKeyPem, ctx())), /signature over certifyInfo does not verify/);
    assert.match(refusal(() => verifyTpmAttestation({ ...good, certifyInfo: Buffer.from(good.certifyInfo, 'base64').subarray(0, 40).toString('base64') }, key.publicKeyPem, ctx())), /certifyInfo \(TPMS_ATTEST\) cannot be read: the TPMS_ATTEST is truncated at/);
    assert.match(refusal(() => verifyTpmAttestation(good, key.publicKeyPem, ctx(new Date(NOW.getTime() + 61 * 60_000)))), /stale nonce/);
    assert.match(refusal(() => verifyTpmAttestation(good, key.publicKeyPem, ctx(new Date(NOW.getTime() - 10 * 60_000)))), /in the future/);
    assert.match(refusal(() => verifyTpmAttestation(good, key.publicKeyPem, ctx(NOW, 'carol'))), /extraData does not bind this enrollment: .* principal carol/);
    assert.match(refusal(() => verifyTpmAttestation({ ...good, issuedAt: new Date(NOW.getTime() - 1000).toISOString() }, key.publicKeyPem, ctx())), /extraData does not bind/);

    // The certification is of `key`; another key's public area (and that key) does not match its name.
    const other = await tpm.createKey();
    assert.match(refusal(() => verifyTpmAttestation({ ...good, public: Buffer.from(other.publicArea).toString('base64') }, other.publicKeyPem, ctx())), /name mismatch/);
    assert.match(refusal(() => verifyTpmAttestation(good, other.publicKeyPem, ctx())), /the TPM certified another public key/);

    const otherCa = await createTpmCa(NOW);
    assert.match(refusal(() => verifyTpmAttestation(good, key.publicKeyPem, { ...ctx(), roots: [{ id: 'other-ca', kind: 'tpm', certificate: otherCa.rootPem }] })), /does not end at a tpm root the policy names \(other-ca\): untrusted chain/);
    assert.match(refusal(() => verifyTpmAttestation(good, key.publicKeyPem, { ...ctx(), roots: [{ ...roots[0]!, kind: 'piv' }] })), /names no tpm root/);
    // An AK certificate from the right CA but for another key: the signature does not verify with it.
    const otherAkCert = await ca.issueAk(other.publicKeyPem);
    assert.match(refusal(() => verifyTpmAttestation({ ...good, certificates: [otherAkCert] }, key.publicKeyPem, ctx())), /signature over certifyInfo does not verify/);
    const noEku = await ca.issueAk(ak.publicKeyPem, { eku: false });
    assert.match(refusal(() => verifyTpmAttestation({ ...good, certificates: [noEku] }, key.publicKeyPem, ctx())), /not marked for attestation \(extended key usage 2\.23\.133\.8\.3/);

    // A duplicable key (not fixedTPM, not fixedParent), really certified by the TPM.
    const loose = await tpm.createKey({ attributes: 'sensitivedataorigin|userwithauth|sign' });
    const looseCert = await certify(loose);
    assert.match(refusal(() => verifyTpmAttestation(looseCert, loose.publicKeyPem, ctx())), /the key is not fixedTPM/);
    // A key certified by a non-restricted key whose certificate claims it is an AK still needs the CA to have issued that certificate.
    const fakeAk = await tpm.createKey();
    const byFake = await certify(key, 'bob', fakeAk.handle);
    assert.match(refusal(() => verifyTpmAttestation(byFake, key.publicKeyPem, ctx())), /signature over certifyInfo does not verify/);
  });

  const approveWith = async (request: BypassRequest, approver: string, signer: DecisionSigner) => {
    const statement = newDecisionStatement({ request, decision: 'approve', approver, comment: 'checked the incident', ttl: request.ttl, nonceHex: randomBytes(16).toString('hex'), now: new Date(h.now.ms) });
    return submitDecision(h.deps, h.caller(approver, 'approver'), request.id, { bundle: await signDecision(statement, signer) });
  };

  test('enrolled through the service: recorded attested (table and ledger), and it approves on a tier requiring attestation', async () => {
    h.now.ms = NOW.getTime();
    const admin = h.caller('root', 'admin');
    const before = (await h.store.ledgerEntriesForTarget('carol')).length;
    // bob's certification does not enroll carol; nothing written.
    await assert.rejects(enrollKey(h.deps, admin, 'carol', { publicKeyPem: key.publicKeyPem, attestation: good }), /extraData does not bind this enrollment/);
    assert.equal((await h.store.listKeys('carol')).length, 0);
    assert.equal((await h.store.ledgerEntriesForTarget('carol')).length, before);

    const enrolled = await enrollKey(h.deps, admin, 'bob', { publicKeyPem: key.publicKeyPem, attestation: good, label: 'swtpm' });
    assert.equal(enrolled.hardwareBacked, true);
    assert.equal(enrolled.attestation?.kind, 'tpm');
    assert.deepEqual((await h.store.getKey(enrolled.keyId))?.attestation, enrolled.attestation);
    const entry = (await h.store.ledgerEntriesForTarget(enrolled.keyId)).find((e) => e.type === 'key_enrolled');
    assert.equal(entry?.data.hardware, 'attested');
    assert.deepEqual(entry?.data.attestation, enrolled.attestation);

    const { request } = await createRequest(h.deps, h.caller('alice', 'requester'), { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: 'the integration suite is down for the whole org', severity: 'sev3', ttl: '1h' });
    const { request: active } = await approveWith(request, 'bob', tpmKeySigner({ kind: 'breakglass-tpm-key', tcti: tpm.tcti, handle: handleText(key.handle), publicKeyPem: key.publicKeyPem }));
    assert.equal(active.state, 'active');
  });
});
