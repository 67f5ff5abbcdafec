import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkcs11js from 'pkcs11js';
import type { ConsoleCore } from '../../../../electron/core/compose-console';
import { consoleOnStore } from '../../../support/console-on-store';
import { dispatch } from '../../../../electron/core/dispatch';
import { readPivAttestation } from '../../../../electron/core/signers/ykcs11-attestation';
import { PivAttestationReadSchema, type IpcResult, type PivAttestationRead, type Session } from '../../../../shared/ipc/contract';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { createSoftHsmToken, type TestToken } from '../../../support/softhsm';
import { buildPivAttestation, type PivAttestationFixture } from '../../../support/piv-attestation';
import { attestedTierPolicy } from '../../../support/attested-tier-policy';
import { memoryKeychain } from './memory-keychain';

// A real SoftHSM2 token laid out as Yubico's ykcs11 shows a YubiKey (yubico-piv-tool,
// ykcs11/objects.c): the approver key in slot 9c (CKA_ID 2), its key attestation certificate
// labelled "X.509 Certificate for PIV Attestation 9c" (CKA_ID 2) and the device's f9 certificate
// labelled "X.509 Certificate for PIV Attestation" (CKA_ID 25), the chain built as a YubiKey
// builds it. The console (told this module is ykcs11) reads them over PKCS#11, checks they
// certify its key, and the store enrolls the key as attested (piv, serial).

const KEY_LABEL = 'bob-9c';
const SLOT_9C_ID = Buffer.from([2]);
const F9_ID = Buffer.from([25]);
const SERIAL = 12345678;
const pk = ((pkcs11js as unknown as { default?: typeof pkcs11js }).default ?? pkcs11js) as typeof pkcs11js;

const der = (pemText: string) => new X509Certificate(pemText).raw;

/** Open the token as its user, run `fn`, close everything (the console opens the module itself after). */
function onToken(token: TestToken, fn: (lib: pkcs11js.PKCS11, session: Buffer) => void): void {
  const lib = new pk.PKCS11();
  lib.load(token.modulePath);
  lib.C_Initialize();
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label)!;
    const session = lib.C_OpenSession(slot, pk.CKF_SERIAL_SESSION | pk.CKF_RW_SESSION);
    lib.C_Login(session, pk.CKU_USER, token.userPin);
    try {
      fn(lib, session);
    } finally {
      lib.C_Logout(session);
      lib.C_CloseSession(session);
    }
  } finally {
    lib.C_Finalize();
    lib.close();
  }
}

/** The fixture's slot key as a 9c key pair on the token (ykcs11: label of our choosing here, CKA_ID 2). */
function importKey(lib: pkcs11js.PKCS11, session: Buffer, fixture: PivAttestationFixture): void {
  const jwk = createPrivateKey(fixture.privateKeyPem).export({ format: 'jwk' }) as { d: string; x: string; y: string };
  const params = Buffer.from('06082a8648ce3d030107', 'hex');
  const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  const common = [
    { type: pk.CKA_TOKEN, value: true },
    { type: pk.CKA_KEY_TYPE, value: pk.CKK_EC },
    { type: pk.CKA_LABEL, value: KEY_LABEL },
    { type: pk.CKA_ID, value: SLOT_9C_ID },
    { type: pk.CKA_EC_PARAMS, value: params },
  ];
  lib.C_CreateObject(session, [...common, { type: pk.CKA_CLASS, value: pk.CKO_PRIVATE_KEY }, { type: pk.CKA_PRIVATE, value: true }, { type: pk.CKA_SENSITIVE, value: true }, { type: pk.CKA_SIGN, value: true }, { type: pk.CKA_VALUE, value: Buffer.from(jwk.d, 'base64url') }]);
  lib.C_CreateObject(session, [...common, { type: pk.CKA_CLASS, value: pk.CKO_PUBLIC_KEY }, { type: pk.CKA_PRIVATE, value: false }, { type: pk.CKA_VERIFY, value: true }, { type: pk.CKA_EC_POINT, value: Buffer.concat([Buffer.from([0x04, 65]), point]) }]);
}

/** Replace ykcs11's two attestation certificate objects with `certificates` ([9c attestation, f9]); none = remove them. */
function writeAttestation(lib: pkcs11js.PKCS11, session: Buffer, certificates: readonly string[] | null): void {
  lib.C_FindObjectsInit(session, [{ type: pk.CKA_CLASS, value: pk.CKO_CERTIFICATE }]);
  const old = lib.C_FindObjects(session, 16);
  lib.C_FindObjectsFinal(session);
  for (const handle of old) lib.C_DestroyObject(session, handle);
  if (!certificates) return;
  const objects: [string, Buffer, string][] = [
    ['X.509 Certificate for PIV Attestation 9c', SLOT_9C_ID, certificates[0]!],
    ['X.509 Certificate for PIV Attestation', F9_ID, certificates[1]!],
  ];
  for (const [label, id, pemText] of objects) {
    const cert = new X509Certificate(pemText);
    lib.C_CreateObject(session, [
      { type: pk.CKA_CLASS, value: pk.CKO_CERTIFICATE },
      { type: pk.CKA_CERTIFICATE_TYPE, value: pk.CKC_X_509 },
      { type: pk.CKA_TOKEN, value: true },
      { type: pk.CKA_PRIVATE, value: false },
      { type: pk.CKA_LABEL, value: label },
      { type: pk.CKA_ID, value: id },
      { type: pk.CKA_SUBJECT, value: subjectDer(cert.raw) },
      { type: pk.CKA_VALUE, value: cert.raw },
    ]);
  }
}

/** The DER of a certificate's subject Name: the 6th element of TBSCertificate (with the [0] version). */
function subjectDer(certificate: Buffer): Buffer {
  const tlv = (at: number) => {
    let len = certificate[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + certificate[start + i]!;
      start += n;
    }
    return { at, start, end: start + len };
  };
  const tbs = tlv(tlv(0).start);
  let at = tbs.start;
  const parts = [];
  while (at < tbs.end && parts.length < 6) {
    const part = tlv(at);
    parts.push(part);
    at = part.end;
  }
  const subject = parts[5]!;
  return certificate.subarray(subject.at, subject.end);
}

describe('console core: the PIV attestation of a ykcs11 key, read over PKCS#11 (real SoftHSM2 in ykcs11 layout)', () => {
  let token: TestToken;
  let store: StoreFixture;
  let dataDir: string;
  let core: ConsoleCore;
  let fixture: Awaited<ReturnType<typeof buildPivAttestation>>;
  let otherKey: PivAttestationFixture;
  const call = <T>(channel: string, input: unknown) => dispatch(core.handlers, channel, input) as Promise<IpcResult<T>>;
  const ok = <T>(result: IpcResult<T>): T => {
    assert.equal(result.ok, true, JSON.stringify(result));
    return (result as { ok: true; value: T }).value;
  };

  before(async () => {
    token = await createSoftHsmToken({ label: 'yubikey-piv' });
    process.env.SOFTHSM2_CONF = token.confPath;
    fixture = await buildPivAttestation({ serial: SERIAL });
    // Another slot key, attested by another YubiKey under the same vendor root.
    otherKey = await buildPivAttestation({ root: fixture.root, serial: 87654321 });
    onToken(token, (lib, session) => {
      importKey(lib, session, fixture);
      writeAttestation(lib, session, fixture.certificates);
    });
    store = await startStoreFixture({ policyYaml: attestedTierPolicy({ tier: 'critical', approvers: ['bob'], root: { id: 'yubico-piv', kind: 'piv', pem: fixture.rootPem } }) });
    dataDir = await mkdtemp(join(tmpdir(), 'bg-console-ykcs11-'));
    core = consoleOnStore(store, {
      dataDir,
      pinPrompt: { ask: () => Promise.resolve(token.userPin) },
      openVault: memoryKeychain().openVault,
      isYkcs11Module: (modulePath) => modulePath === token.modulePath,
    });
    await core.start();
  });

  after(async () => {
    await core?.stop();
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await token?.cleanup();
  });

  test('the console reads the attestation from the token, the store enrolls the key attested (piv, serial); another key\'s attestation is refused', async () => {
    const bob = await store.token('bob', ['approver']);
    const session = ok(await call<Session>('console:main:setup', { storeUrl: store.url, token: bob, key: { kind: 'pkcs11', modulePath: token.modulePath, tokenLabel: token.label, keyLabel: KEY_LABEL, mode: 'select' } }));
    const key = session.key!;
    assert.equal(key.publicKeyPem.trim(), fixture.publicKeyPem.trim(), 'the console uses the 9c key');

    const read = ok(await call<PivAttestationRead>('console:main:read-piv-attestation', {}));
    assert.equal(PivAttestationReadSchema.safeParse(read).success, true);
    assert.ok(read.available, JSON.stringify(read));
    assert.equal(read.slot, '9c');
    assert.deepEqual(read.attestation.kind, 'piv');
    assert.deepEqual(read.attestation.certificates.map(der), fixture.certificates.map(der), 'the 9c key attestation certificate, then f9, as on the token');
    assert.deepEqual(read.files, ['bob-9c-attest.pem', 'bob-f9.pem']);
    assert.equal(read.enrollCommand, 'breakglass admin approver enroll --principal bob --public-key bob.pub.pem --attestation bob-9c-attest.pem bob-f9.pem');

    // The same module by its own name is not ykcs11: today's plain sentence, nothing read.
    const plain = await readPivAttestation('bob', { kind: 'pkcs11', keyId: key.keyId, publicKeyPem: key.publicKeyPem, hardwareBacked: true, pkcs11: key.pkcs11!, file: null, tpm: null }, { allowedModulePaths: [] });
    assert.deepEqual(plain, { available: false, reason: key.attestationText });
    assert.match(plain.available ? '' : plain.reason, /^SoftHSM2 has no attestation/);

    // What the admin runs with the files the console shows: the store verifies and records it attested.
    const enrolled = await store.call('POST', '/v1/admin/approvers/bob/keys', { token: store.adminToken, body: { publicKeyPem: key.publicKeyPem, attestation: read.attestation } });
    assert.equal(enrolled.status, 201, enrolled.text);
    const afterEnroll = ok(await call<Session>('console:main:get-session', {})).key!;
    assert.equal(afterEnroll.enrolled, true);
    assert.deepEqual(afterEnroll.attestation, { kind: 'piv', serial: String(SERIAL) });

    // The token's 9c attestation now certifies another key: refused, nothing handed out.
    onToken(token, (lib, session) => writeAttestation(lib, session, otherKey.certificates));
    const wrong = await call<PivAttestationRead>('console:main:read-piv-attestation', {});
    assert.equal(wrong.ok, false);
    assert.equal(!wrong.ok && wrong.error.code, 'conflict');
    assert.match(!wrong.ok ? wrong.error.message : '', new RegExp(`the attestation certificate for slot 9c on token "yubikey-piv" certifies another key, not this console's key ${key.keyId} \\("${KEY_LABEL}"\\)`));
    // And the store would refuse that attestation for this key too.
    const storeRefuses = await store.call('POST', '/v1/admin/approvers/bob/keys', { token: store.adminToken, body: { publicKeyPem: key.publicKeyPem, attestation: { kind: 'piv', certificates: otherKey.certificates } } });
    assert.equal(storeRefuses.status, 400, storeRefuses.text);

    // A key attestation not signed by the device certificate beside it: refused.
    onToken(token, (lib, session) => writeAttestation(lib, session, [fixture.certificates[0], otherKey.certificates[1]]));
    const unsigned = await call<PivAttestationRead>('console:main:read-piv-attestation', {});
    assert.match(!unsigned.ok ? unsigned.error.message : '', /is not signed by its device attestation certificate \(f9/);

    // No attestation objects (a key imported into the YubiKey): the plain sentence, and why.
    onToken(token, (lib, session) => writeAttestation(lib, session, null));
    const none = ok(await call<PivAttestationRead>('console:main:read-piv-attestation', {}));
    assert.equal(none.available, false);
    assert.equal(!none.available && none.reason, `token "yubikey-piv" shows no attestation certificate for slot 9c (a YubiKey attests only keys it generated itself): ${key.attestationText}`);
  });
});
