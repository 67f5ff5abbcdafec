import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../../shared/errors';
import type { AttestationRoot } from '../../../../shared/domain/policy';
import type { BypassRequest } from '../../../../shared/domain/request';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../../shared/node/signing/software-signer';
import { signDecision } from '../../../../shared/node/signing/sign-decision';
import { newDecisionStatement } from '../../../../shared/signing/decision-statement';
import { EXAMPLE_POLICY_PATH } from '../../../../grant-store/policy/example-policy-path';
import { verifyPivAttestation } from '../../../../grant-store/identity/key-attestation';
import { submitDecision } from '../../../../grant-store/service/decision-service';
import { enrollKey } from '../../../../grant-store/service/identity-service';
import { createRequest } from '../../../../grant-store/service/request-service';
import { buildPivAttestation, type PivAttestationFixture } from '../../../support/piv-attestation';
import { startHarness, type Harness } from '../service-harness';
import { withAttestationRoot } from '../../../support/grant-store-fixture';

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

describe('PIV key attestation', () => {
  let good: PivAttestationFixture & { root: Awaited<ReturnType<typeof buildPivAttestation>>['root'] };
  let roots: AttestationRoot[];
  before(async () => {
    good = await buildPivAttestation({ now: NOW, serial: 12345678, pin: 2, touch: 3 });
    roots = [{ id: 'yubico-piv', kind: 'piv', certificate: good.rootPem }];
  });

  test('a YubiKey-format chain to a policy root is attested with its serial and PIN/touch policy', () => {
    assert.deepEqual(verifyPivAttestation({ certificates: good.certificates }, good.publicKeyPem, roots, NOW), { kind: 'piv', root: 'yubico-piv', serial: '12345678', policy: { pin: 'once', touch: 'cached' } });
  });

  test('refused, naming the reason: another root, another key, a broken chain, outside the validity window, missing extensions', async () => {
    const other = await buildPivAttestation({ now: NOW });
    assert.match(refusal(() => verifyPivAttestation({ certificates: good.certificates }, good.publicKeyPem, [{ id: 'other', kind: 'piv', certificate: other.rootPem }], NOW)), /does not end at a piv root the policy names \(other\)/);
    assert.match(refusal(() => verifyPivAttestation({ certificates: good.certificates }, good.publicKeyPem, [], NOW)), /names no piv root/);
    assert.match(refusal(() => verifyPivAttestation({ certificates: good.certificates }, generateSoftwareKeyPair().publicKeyPem, roots, NOW)), /certifies another public key/);
    assert.match(refusal(() => verifyPivAttestation({ certificates: [good.certificates[0], other.certificates[1]] }, good.publicKeyPem, roots, NOW)), /certificate 1 is not signed by certificate 2/);
    assert.match(refusal(() => verifyPivAttestation({ certificates: good.certificates }, good.publicKeyPem, roots, new Date(NOW.getTime() - 3 * 86_400_000))), /is not valid at/);
    const noSerial = await buildPivAttestation({ now: NOW, root: good.root, omit: ['serial'] });
    assert.match(refusal(() => verifyPivAttestation({ certificates: noSerial.certificates }, noSerial.publicKeyPem, roots, NOW)), /no device serial \(extension 1\.3\.6\.1\.4\.1\.41482\.3\.7\)/);
    const noPolicy = await buildPivAttestation({ now: NOW, root: good.root, omit: ['policy'] });
    assert.match(refusal(() => verifyPivAttestation({ certificates: noPolicy.certificates }, noPolicy.publicKeyPem, roots, NOW)), /no PIN\/touch policy/);
    assert.match(refusal(() => verifyPivAttestation({ certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', good.certificates[1]] }, good.publicKeyPem, roots, NOW)), /is not a certificate/);
  });
});

describe('attested keys at enrollment and approval (service, SQLite)', () => {
  let h: Harness;
  let dir: string;
  let piv: PivAttestationFixture;
  before(async () => {
    piv = await buildPivAttestation({ now: NOW });
    dir = await mkdtemp(join(tmpdir(), 'bg-attest-'));
    // The example policy with its low tier requiring attested keys and the test root.
    const example = await readFile(EXAMPLE_POLICY_PATH, 'utf8');
    const policy = withAttestationRoot(example.replace('    maxTtl: 24h\n    hardwareKeyRequired: false\n', '    maxTtl: 24h\n    hardwareKeyRequired: true\n    attestationRequired: true\n'), 'test-yubico', piv.rootPem);
    await writeFile(join(dir, 'policy.yaml'), policy);
    h = await startHarness(join(dir, 'policy.yaml'));
  });
  after(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const approveWith = async (request: BypassRequest, approver: string, privateKeyPem: string) => {
    const statement = newDecisionStatement({ request, decision: 'approve', approver, comment: 'checked the incident', ttl: request.ttl, nonceHex: randomBytes(16).toString('hex'), now: new Date(h.now.ms) });
    return submitDecision(h.deps, h.caller(approver, 'approver'), request.id, { bundle: await signDecision(statement, fileKeySigner(privateKeyPem)) });
  };

  test('an attested key is recorded as such (table and ledger); --hardware alone is only claimed and cannot approve an attestation tier', async () => {
    h.now.ms = NOW.getTime();
    const admin = h.caller('root', 'admin');
    const attested = await enrollKey(h.deps, admin, 'bob', { publicKeyPem: piv.publicKeyPem, attestation: { kind: 'piv', certificates: piv.certificates } });
    assert.equal(attested.hardwareBacked, true);
    assert.deepEqual(attested.attestation, { kind: 'piv', root: 'test-yubico', serial: '12345678', policy: { pin: 'once', touch: 'always' } });
    const entry = (await h.store.ledgerEntriesForTarget(attested.keyId)).find((e) => e.type === 'key_enrolled');
    assert.equal(entry?.data.hardware, 'attested');
    assert.deepEqual(entry?.data.attestation, attested.attestation);
    assert.deepEqual((await h.store.getKey(attested.keyId))?.attestation, attested.attestation);

    const claimedPair = generateSoftwareKeyPair();
    const claimed = await enrollKey(h.deps, admin, 'dave', { publicKeyPem: claimedPair.publicKeyPem, hardwareBacked: true });
    assert.equal(claimed.attestation, null);
    assert.equal((await h.store.ledgerEntriesForTarget(claimed.keyId)).find((e) => e.type === 'key_enrolled')?.data.hardware, 'claimed');

    // A forged attestation (another key's chain) writes nothing.
    const before = (await h.store.ledgerEntriesForTarget('carol')).length;
    await assert.rejects(enrollKey(h.deps, admin, 'carol', { publicKeyPem: generateSoftwareKeyPair().publicKeyPem, attestation: { kind: 'piv', certificates: piv.certificates } }), /certifies another public key/);
    assert.equal((await h.store.listKeys('carol')).length, 0);
    assert.equal((await h.store.ledgerEntriesForTarget('carol')).length, before);

    const { request } = await createRequest(h.deps, h.caller('alice', 'requester'), { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: 'the integration suite is down for the whole org', severity: 'sev3', ttl: '1h' });
    await assert.rejects(approveWith(request, 'dave', claimedPair.privateKeyPem), (e: unknown) => e instanceof AppError && e.code === 'forbidden' && /requires an attested hardware key; this key is hardware-backed by claim only/.test(e.message));
    const { request: active } = await approveWith(request, 'bob', piv.privateKeyPem);
    assert.equal(active.state, 'active');
  });
});
