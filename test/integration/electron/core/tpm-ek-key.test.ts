import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsoleCore } from '../../../../electron/core/compose-console';
import { consoleOnStore } from '../../../support/console-on-store';
import { dispatch } from '../../../../electron/core/dispatch';
import { pinCancelled } from '../../../../electron/core/pin-prompt';
import type { TpmEkAttestationInput } from '../../../../shared/domain/identity';
import type { IpcResult, Session, TpmStatus } from '../../../../shared/ipc/contract';
import { readEkCertificate } from '../../../../shared/node/tpm/tpm-ek';
import { handleText } from '../../../../shared/node/tpm/tpm-keys';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { startSwtpm, type Swtpm } from '../../../support/swtpm';
import { fileRequest } from '../../grant-store/workflow-helpers';
import { memoryKeychain } from './memory-keychain';
import { attestedTierPolicy } from '../../../support/attested-tier-policy';

// The console's stronger TPM route: a real swtpm manufactured with an EK certificate
// (swtpm_setup --create-ek-cert; its local CA plays the TPM manufacturer, whose root the policy
// names as a tpm-ek root) and an attestation key with no certificate at all. The console core,
// signed in as bob (an approver, not an admin), asks the store for bob's challenge, answers it
// with TPM2_ActivateCredential and hands over the tpm-ek attestation keygen --tpm --ek writes; the
// store enrolls the key as attested and bob's approval, signed inside the TPM, is recorded attested.

describe('console core: a TPM key anchored in the endorsement key (real swtpm with an EK certificate)', () => {
  let tpm: Swtpm;
  let store: StoreFixture;
  let dataDir: string;
  let core: ConsoleCore;
  let akHandle: string;
  let ekSerial: string;
  const keychain = memoryKeychain();
  const call = <T>(channel: string, input: unknown) => dispatch(core.handlers, channel, input) as Promise<IpcResult<T>>;
  const ok = <T>(result: IpcResult<T>): T => {
    assert.equal(result.ok, true, JSON.stringify(result));
    return (result as { ok: true; value: T }).value;
  };

  before(async () => {
    tpm = await startSwtpm({ ekCertificate: true });
    akHandle = handleText((await tpm.createKey({ restricted: true })).handle);
    ekSerial = new X509Certificate(await readEkCertificate(tpm.tcti)).serialNumber.toLowerCase();
    store = await startStoreFixture({
      policyYaml: attestedTierPolicy({ tier: 'critical', approvers: ['bob'], root: { id: 'swtpm-manufacturer', kind: 'tpm-ek', pem: tpm.manufacturer!.rootPem } }),
    });
    dataDir = await mkdtemp(join(tmpdir(), 'bg-console-tpm-ek-'));
    core = consoleOnStore(store, {
      dataDir,
      pinPrompt: { ask: () => Promise.reject(pinCancelled('a TPM key asks for no PIN')) },
      openVault: keychain.openVault,
      tpm: { tcti: tpm.tcti },
    });
    await core.start();
  });

  after(async () => {
    await core?.stop();
    await store?.close();
    await tpm?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('the status offers the EK route; setup makes the key, asks the store for its own challenge and answers it; certify again answers a new one; the store enrolls it as attested by the EK; the approval signed in the TPM is recorded attested', async () => {
    const status = ok(await call<TpmStatus>('console:main:get-tpm-status', {}));
    assert.deepEqual(status.ek, { available: true, reason: null, handle: '0x81010001', issuer: 'CN=swtpm-localca' });

    const bob = await store.token('bob', ['approver']);
    const session = ok(await call<Session>('console:main:setup', { storeUrl: store.url, token: bob, key: { kind: 'tpm', mode: 'generate', anchor: 'ek', akHandle, ekIntermediates: tpm.manufacturer!.intermediatePem } }));
    const key = session.key!;
    assert.deepEqual({ kind: key.kind, anchor: key.tpm?.anchor, handle: key.tpm?.handle, akHandle: key.tpm?.akHandle, enrolled: key.enrolled }, { kind: 'tpm', anchor: 'ek', handle: '0x81000100', akHandle, enrolled: false });
    const first = key.tpm!.certification as TpmEkAttestationInput;
    // What `keygen --tpm --ek` writes to <principal>.tpm-attestation.json, field for field.
    assert.deepEqual(Object.keys(first).sort(), ['akPublic', 'certifyInfo', 'challengeId', 'issuedAt', 'kind', 'public', 'secret', 'signature']);
    assert.equal(first.kind, 'tpm-ek');
    assert.equal(key.enrollCommand, 'breakglass admin approver enroll --principal bob --public-key bob.pub.pem --tpm-attestation bob.tpm-attestation.json');
    assert.match(key.attestationText, /the store's challenge answered by this TPM's endorsement key/);

    const again = ok(await call<Session>('console:main:certify-tpm-key', {})).key!;
    const second = again.tpm!.certification as TpmEkAttestationInput;
    assert.equal(again.keyId, key.keyId, 'the same key');
    assert.notEqual(second.challengeId, first.challengeId, 'a new challenge, answered again');

    const enrolled = await store.call('POST', '/v1/admin/approvers/bob/keys', { token: store.adminToken, body: { publicKeyPem: again.publicKeyPem, attestation: second } });
    assert.equal(enrolled.status, 201, enrolled.text);
    const after = ok(await call<Session>('console:main:get-session', {})).key!;
    assert.equal(after.enrolled, true);
    assert.deepEqual(after.attestation, { kind: 'tpm', serial: ekSerial });

    const alice = await store.token('alice', ['requester']);
    const request = await fileRequest(store, alice, { ttl: '15m' });
    const approved = ok(await call<{ request: { state: string } }>('console:main:approve', { id: request.id, digest: request.digest, ttl: '15m', comment: 'checked, signed in the TPM' }));
    assert.equal(approved.request.state, 'active');
    const entries = (await store.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: store.adminToken })).json.entries as { type: string; target: string; data: Record<string, unknown> }[];
    const decision = entries.find((e) => e.type === 'decision' && e.target === request.id)!;
    assert.equal(decision.data.hardware, 'attested');
    const recorded = decision.data.attestation as { kind: string; root: string; serial: string };
    assert.deepEqual({ kind: recorded.kind, root: recorded.root, serial: recorded.serial }, { kind: 'tpm', root: 'swtpm-manufacturer', serial: ekSerial });
  });
});
