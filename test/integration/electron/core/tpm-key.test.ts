import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsoleCore } from '../../../../electron/core/compose-console';
import { consoleOnStore } from '../../../support/console-on-store';
import { dispatch } from '../../../../electron/core/dispatch';
import { pinCancelled } from '../../../../electron/core/pin-prompt';
import type { IpcResult, Session, TpmStatus } from '../../../../shared/ipc/contract';
import { handleText } from '../../../../shared/node/tpm/tpm-keys';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { startSwtpm, type Swtpm } from '../../../support/swtpm';
import { createTpmCa } from '../../../support/tpm-attestation-ca';
import { fileRequest } from '../../grant-store/workflow-helpers';
import { memoryKeychain } from './memory-keychain';
import { attestedTierPolicy } from '../../../support/attested-tier-policy';

// The console core makes its signing key in a real software TPM (swtpm, started here), certifies
// it with the TPM's attestation key through the same shared code as `breakglass keygen --tpm`,
// the store enrolls it as attested from that certification on a tier with attestationRequired,
// and the console's approval, signed inside the TPM, is recorded as attested (tpm, serial).

const AK_SERIAL = 'c0501e7a';

describe('console core: a TPM 2.0 key made, certified and used by the console (real swtpm)', () => {
  let tpm: Swtpm;
  let store: StoreFixture;
  let dataDir: string;
  let core: ConsoleCore;
  let akHandle: string;
  let akPem: string;
  let otherAkPem: string;
  const keychain = memoryKeychain();
  const call = <T>(channel: string, input: unknown) => dispatch(core.handlers, channel, input) as Promise<IpcResult<T>>;
  const ok = <T>(result: IpcResult<T>): T => {
    assert.equal(result.ok, true, JSON.stringify(result));
    return (result as { ok: true; value: T }).value;
  };

  /** A console on `dataDir` reaching the TPM through `tcti`; its clock is the store's (so the certification's hour runs on one clock). */
  function consoleOn(tcti: string, extra: { parentHandle?: number; dir?: string } = {}): ConsoleCore {
    return consoleOnStore(store, {
      dataDir: extra.dir ?? dataDir,
      pinPrompt: { ask: () => Promise.reject(pinCancelled('a TPM key asks for no PIN')) },
      openVault: keychain.openVault,
      tpm: { tcti, parentHandle: extra.parentHandle },
    });
  }

  before(async () => {
    tpm = await startSwtpm();
    const ca = await createTpmCa(new Date());
    const ak = await tpm.createKey({ restricted: true });
    akHandle = handleText(ak.handle);
    akPem = await ca.issueAk(ak.publicKeyPem, { serial: AK_SERIAL });
    otherAkPem = await ca.issueAk((await tpm.createKey()).publicKeyPem, { serial: '0bad' });
    store = await startStoreFixture({
      policyYaml: attestedTierPolicy({ tier: 'critical', approvers: ['bob'], root: { id: 'console-tpm-ca', kind: 'tpm', pem: ca.rootPem } }),
    });
    dataDir = await mkdtemp(join(tmpdir(), 'bg-console-tpm-'));
    core = consoleOn(tpm.tcti);
    await core.start();
  });

  after(async () => {
    await core?.stop();
    await store?.close();
    await tpm?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('the TPM status says what is there, or the true reason the choice is disabled', async () => {
    const status = ok(await call<TpmStatus>('console:main:get-tpm-status', {}));
    assert.equal(status.available, true, status.reason ?? '');
    assert.equal(status.reason, null);
    assert.equal(status.manufacturer, 'IBM', 'swtpm reports IBM as its manufacturer');
    assert.deepEqual(status.attestationKeys, [akHandle]);
    assert.equal(status.nextHandle, '0x81000100');
    assert.equal(status.ek.available, false, 'this swtpm was made without an EK certificate');
    assert.equal(status.ek.reason, 'this TPM has no endorsement key certificate (NV index 0x01c00002 is not defined)');

    const reasons: string[] = [];
    for (const [tcti, parentHandle] of [['device:/dev/bg-no-such-tpm', undefined], [`swtpm:path=${join(dataDir, 'nobody-listens.sock')}`, undefined], [tpm.tcti, 0x81000002]] as const) {
      const other = consoleOn(tcti, { parentHandle, dir: await mkdtemp(join(tmpdir(), 'bg-console-tpm-no-')) });
      const s = ok(await (dispatch(other.handlers, 'console:main:get-tpm-status', {}) as Promise<IpcResult<TpmStatus>>));
      assert.equal(s.available, false);
      assert.equal(s.nextHandle, null);
      reasons.push(s.reason ?? '');
      await rm(other.dataDir, { recursive: true, force: true });
    }
    assert.equal(reasons[0], 'no TPM on this machine: /dev/bg-no-such-tpm does not exist');
    assert.match(reasons[1]!, /^the TPM \(swtpm:path=.*nobody-listens\.sock\) did not answer: /);
    assert.match(reasons[2]!, /has no storage root key at 0x81000002: provision one/);
  });

  test('setup refuses a wrong attestation key or certificate, naming the field, and writes nothing', async () => {
    const bob = await store.token('bob', ['approver']);
    const setup = (key: Record<string, unknown>) => call<Session>('console:main:setup', { storeUrl: store.url, token: bob, key: { kind: 'tpm', mode: 'generate', anchor: 'ak-certificate', akHandle, akCertificates: akPem, ...key } });
    const notAk = await setup({ akHandle: '0x81000001' });
    assert.equal(notAk.ok, false);
    assert.deepEqual(!notAk.ok && notAk.error.fieldErrors?.map((f) => f.path), ['key.akHandle']);
    assert.match(!notAk.ok ? notAk.error.message : '', /0x81000001 is not an attestation key in this TPM \(attestation keys here: 0x81000002\)/);
    const otherCert = await setup({ akCertificates: otherAkPem });
    assert.match(!otherCert.ok ? otherCert.error.message : '', /the first certificate is not the certificate of the attestation key at 0x81000002/);
    const noCert = await setup({ akCertificates: 'not a certificate' });
    assert.deepEqual(!noCert.ok && noCert.error.fieldErrors?.map((f) => f.path), ['key.akCertificates']);
    const select = await setup({ mode: 'select' });
    assert.deepEqual(!select.ok && select.error.fieldErrors?.map((f) => f.path), ['key.handle']);
    const noEk = await setup({ anchor: 'ek', akCertificates: undefined });
    assert.deepEqual(!noEk.ok && noEk.error.fieldErrors?.map((f) => f.path), ['key.anchor']);
    assert.equal(!noEk.ok && noEk.error.message, 'this TPM has no endorsement key certificate (NV index 0x01c00002 is not defined)');
    const taken = await setup({ handle: '0x81000001' });
    assert.match(!taken.ok ? taken.error.message : '', /0x81000001 already holds an object in this TPM/);
    await assert.rejects(access(join(dataDir, 'console.json')), 'no profile was written');
    assert.deepEqual(ok(await call<TpmStatus>('console:main:get-tpm-status', {})).signingKeys, ['0x81000003'], 'no key was made in the TPM');
  });

  test('setup makes the key in the TPM and certifies it; the store enrolls it as attested; the console signs inside the TPM and the decision is recorded attested (tpm, serial)', async () => {
    const bob = await store.token('bob', ['approver']);
    const session = ok(await call<Session>('console:main:setup', { storeUrl: store.url, token: bob, key: { kind: 'tpm', mode: 'generate', anchor: 'ak-certificate', akHandle, akCertificates: `${akPem}` } }));
    const key = session.key!;
    assert.equal(key.kind, 'tpm');
    assert.equal(key.hardwareBacked, true);
    assert.equal(key.enrolled, false);
    assert.deepEqual({ tcti: key.tpm?.tcti, handle: key.tpm?.handle, akHandle: key.tpm?.akHandle }, { tcti: tpm.tcti, handle: '0x81000100', akHandle });
    const certification = key.tpm!.certification as { kind: string; issuedAt: string; certificates: string[] };
    assert.equal(certification.kind, 'tpm');
    assert.equal(key.tpm!.anchor, 'ak-certificate');
    assert.deepEqual(certification.certificates, [akPem]);
    assert.equal(Date.parse(key.tpm!.certificationValidUntil) - Date.parse(certification.issuedAt), 60 * 60_000);
    assert.equal(key.enrollCommand, 'breakglass admin approver enroll --principal bob --public-key bob.pub.pem --tpm-attestation bob.tpm-attestation.json');
    assert.match(key.attestationText, /certified there by the attestation key 0x81000002/);
    assert.ok(ok(await call<TpmStatus>('console:main:get-tpm-status', {})).signingKeys.includes('0x81000100'), 'the key is persistent in the TPM');

    // An hour later the store refuses that certification as stale; the console certifies again.
    store.clock.advance(61 * 60_000);
    const stale = await store.call('POST', '/v1/admin/approvers/bob/keys', { token: store.adminToken, body: { publicKeyPem: key.publicKeyPem, attestation: key.tpm!.certification } });
    assert.equal(stale.status, 400, stale.text);
    assert.match(stale.text, /stale nonce/);
    const again = ok(await call<Session>('console:main:certify-tpm-key', {})).key!;
    assert.equal(again.keyId, key.keyId, 'the same key, certified again');
    assert.notEqual((again.tpm!.certification as { issuedAt: string }).issuedAt, certification.issuedAt);

    // What the admin runs with the files the console shows: the store verifies and records it attested.
    const enrolled = await store.call('POST', '/v1/admin/approvers/bob/keys', { token: store.adminToken, body: { publicKeyPem: again.publicKeyPem, attestation: again.tpm!.certification } });
    assert.equal(enrolled.status, 201, enrolled.text);
    const after = ok(await call<Session>('console:main:get-session', {})).key!;
    assert.equal(after.enrolled, true);
    assert.deepEqual(after.attestation, { kind: 'tpm', serial: AK_SERIAL });

    const alice = await store.token('alice', ['requester']);
    const request = await fileRequest(store, alice, { ttl: '15m' });
    const approved = ok(await call<{ request: { state: string; approvals: { hardwareBacked: boolean }[] } }>('console:main:approve', { id: request.id, digest: request.digest, ttl: '15m', comment: 'checked, signed in the TPM' }));
    assert.equal(approved.request.state, 'active');
    const entries = (await store.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: store.adminToken })).json.entries as { type: string; target: string; data: Record<string, unknown> }[];
    const decision = entries.find((e) => e.type === 'decision' && e.target === request.id)!;
    assert.equal(decision.data.hardware, 'attested');
    const recorded = decision.data.attestation as { kind: string; root: string; serial: string };
    assert.deepEqual({ kind: recorded.kind, root: recorded.root, serial: recorded.serial }, { kind: 'tpm', root: 'console-tpm-ca', serial: AK_SERIAL });
  });

  test('a console reaching another TPM than the key was made in refuses to sign and says which', async () => {
    const alice = await store.token('alice', ['requester']);
    const request = await fileRequest(store, alice, { ttl: '15m', scope: { repo: 'payments-api', branch: 'release' } });
    await core.stop();
    core = consoleOn('device:/dev/bg-no-such-tpm');
    await core.start();
    const refused = await call('console:main:approve', { id: request.id, digest: request.digest, ttl: '15m', comment: 'from the wrong TPM' });
    assert.equal(refused.ok, false);
    assert.match(!refused.ok ? refused.error.message : '', /the signing key was made in the TPM swtpm:path=.*, but this console reaches device:\/dev\/bg-no-such-tpm/);
    assert.equal((await store.call('GET', `/v1/requests/${request.id}`, { token: store.adminToken })).json.request.state, 'pending', 'nothing was signed or sent');
  });
});
