import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BypassRequest } from '../../../shared/domain/request';
import { generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import { handleText } from '../../../shared/node/tpm/tpm-keys';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { startSwtpm, type Swtpm } from '../../support/swtpm';
import { createTpmCa } from '../../support/tpm-attestation-ca';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { attestedTierPolicy } from '../../support/attested-tier-policy';
import { runCliInProcess } from './cli-harness';

const cli = runCliInProcess;

for (const backend of ['SQLite', 'PostgreSQL'] as const) describe(`CLI: an approver key made in a (software) TPM, certified, enrolled as attested, signing inside the TPM (${backend})`, () => {
  let tpm: Swtpm;
  let fx: StoreFixture;
  let db: TempDatabase | undefined;
  let tmp: string;
  let akHandle: number;
  let admin: Record<string, string>;
  before(async () => {
    if (backend === 'PostgreSQL') db = await createTempDatabase('bg_tpm');
    tpm = await startSwtpm();
    const ca = await createTpmCa(new Date());
    const ak = await tpm.createKey({ restricted: true });
    akHandle = ak.handle;
    tmp = await mkdtemp(join(tmpdir(), 'bg-cli-tpm-'));
    await writeFile(join(tmp, 'ak.pem'), await ca.issueAk(ak.publicKeyPem, { serial: '7e57ab1e' }));
    fx = await startStoreFixture({
      policyYaml: attestedTierPolicy({ tier: 'low', approvers: ['bob', 'carol'], root: { id: 'test-tpm-ca', kind: 'tpm', pem: ca.rootPem } }),
      databaseUrl: db?.url,
    });
    admin = { BREAKGLASS_STORE: fx.url, BREAKGLASS_TOKEN: fx.adminToken, XDG_CONFIG_HOME: join(tmp, 'config'), HOME: tmp };
  });
  after(async () => {
    await fx?.close();
    await db?.drop();
    await tpm?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('keygen --tpm → enroll --tpm-attestation → list/status say attested (tpm, serial); a tampered certification and a claimed key do not approve', async () => {
    const made = await cli(['keygen', '--tpm', '--out', join(tmp, 'bob'), '--principal', 'bob', '--tcti', tpm.tcti, '--handle', '0x81000100', '--ak', handleText(akHandle), '--ak-cert', join(tmp, 'ak.pem')], admin);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /TPM key file: .*bob\.tpm\.json/);
    const keyFile = JSON.parse(await readFile(join(tmp, 'bob.tpm.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(keyFile).sort(), ['handle', 'kind', 'publicKeyPem', 'tcti']);

    // A certification whose magic was changed is refused, naming it; nothing is enrolled.
    const attestation = JSON.parse(await readFile(join(tmp, 'bob.tpm-attestation.json'), 'utf8')) as { certifyInfo: string };
    const bytes = Buffer.from(attestation.certifyInfo, 'base64');
    bytes[0] = 0;
    await writeFile(join(tmp, 'tampered.json'), JSON.stringify({ ...attestation, certifyInfo: bytes.toString('base64') }));
    const tampered = await cli(['admin', 'approver', 'enroll', '--principal', 'bob', '--public-key', join(tmp, 'bob.pub.pem'), '--tpm-attestation', join(tmp, 'tampered.json')], admin);
    assert.equal(tampered.code, 2, tampered.stdout);
    assert.match(tampered.stderr, /--tpm-attestation: bad magic 0x00544347/);
    assert.match((await cli(['admin', 'approver', 'list', '--principal', 'bob'], admin)).stdout, /no keys enrolled for bob/);

    const enrolled = await cli(['admin', 'approver', 'enroll', '--principal', 'bob', '--public-key', join(tmp, 'bob.pub.pem'), '--tpm-attestation', join(tmp, 'bob.tpm-attestation.json')], admin);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    assert.match(enrolled.stdout, /\(attested \(tpm, serial 7e57ab1e\): fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, firmwareVersion 0x/);
    assert.match((await cli(['admin', 'approver', 'list', '--principal', 'bob'], admin)).stdout, /attested \(tpm, serial 7e57ab1e\)/);

    // carol's key is hardware by the admin's word only: claimed, and it cannot approve this tier.
    const carolKey = generateSoftwareKeyPair();
    await writeFile(join(tmp, 'carol.pem'), carolKey.privateKeyPem);
    await writeFile(join(tmp, 'carol.pub.pem'), carolKey.publicKeyPem);
    assert.match((await cli(['admin', 'approver', 'enroll', '--principal', 'carol', '--public-key', join(tmp, 'carol.pub.pem'), '--hardware'], admin)).stdout, /\(claimed, not attested \(hardware by the admin's word\)\)/);

    const created = await fx.call('POST', '/v1/requests', { token: await fx.token('alice', ['requester']), body: { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: 'the integration suite is down for the whole org', severity: 'sev3', ttl: '15m' } });
    assert.equal(created.status, 201, created.text);
    const id = (created.json.request as BypassRequest).id;
    const carol = { ...admin, BREAKGLASS_TOKEN: await fx.token('carol', ['approver']) };
    const refused = await cli(['approve', id, '--key', join(tmp, 'carol.pem')], carol);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /requires an attested hardware key; this key is hardware-backed by claim only/);

    const bob = { ...admin, BREAKGLASS_TOKEN: await fx.token('bob', ['approver']) };
    const approved = await cli(['approve', id, '--comment', 'checked the runner', '--key', join(tmp, 'bob.tpm.json')], bob);
    assert.equal(approved.code, 0, approved.stderr);
    const status = await cli(['status', id], bob);
    assert.match(status.stdout, /approvals: 1\/1 \(bob \[attested \(tpm, serial 7e57ab1e\)\]\)/);
    assert.match((await cli(['whoami'], bob)).stdout, /keys: +[0-9a-f]{16}… \[attested \(tpm, serial 7e57ab1e\)\]/);

    // The decision's ledger entry says which kind of key signed it: bob's attestation (kind,
    // serial, policy); carol's claimed key on a denial of a second request; status says both.
    const second = await fx.call('POST', '/v1/requests', { token: await fx.token('alice', ['requester']), body: { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'release' }, reason: 'the integration suite is down for the release branch too', severity: 'sev3', ttl: '15m' } });
    assert.equal(second.status, 201, second.text);
    const secondId = (second.json.request as BypassRequest).id;
    const denied = await cli(['deny', secondId, '--comment', 'use the main branch fix', '--key', join(tmp, 'carol.pem')], carol);
    assert.equal(denied.code, 0, denied.stderr);
    const entries = (await fx.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: fx.adminToken })).json.entries as { type: string; target: string; data: Record<string, unknown> }[];
    const bobDecision = entries.find((e) => e.type === 'decision' && e.target === id)!;
    assert.equal(bobDecision.data.hardware, 'attested');
    const recorded = bobDecision.data.attestation as { kind: string; root: string; serial: string; policy: Record<string, unknown> };
    assert.deepEqual({ kind: recorded.kind, root: recorded.root, serial: recorded.serial }, { kind: 'tpm', root: 'test-tpm-ca', serial: '7e57ab1e' });
    assert.equal(recorded.policy.fixedTPM, true);
    assert.match(String(recorded.policy.firmwareVersion), /^0x/);
    const carolDecision = entries.find((e) => e.type === 'decision' && e.target === secondId)!;
    assert.equal(carolDecision.data.hardware, 'claimed');
    assert.equal(carolDecision.data.attestation, null);
    assert.match((await cli(['status', id], bob)).stdout, /bob approve 15m: checked the runner {2}\[ledger #\d+, key attested \(tpm, serial 7e57ab1e\)\]/);
    assert.match((await cli(['status', secondId], bob)).stdout, /carol deny: use the main branch fix {2}\[ledger #\d+, key claimed, not attested\]/);

    // ledger verify's semantic audit counts the decisions by the key that signed them (once the
    // log's checkpoint, signed within about 500 ms, covers the denial).
    const carolSeq = (carolDecision as unknown as { seq: number }).seq;
    for (let tries = 0; ((await fx.call('GET', '/v1/ledger/checkpoint', { token: fx.adminToken })).json.treeSize as number) <= carolSeq; tries++) {
      assert.ok(tries < 200, 'the checkpoint never covered the denial');
      await new Promise((r) => setTimeout(r, 50));
    }
    const verified = await cli(['ledger', 'verify'], admin);
    assert.equal(verified.code, 0, `${verified.stdout}\n${verified.stderr}`);
    assert.match(verified.stdout, /2 decisions \(keys: 1 attested, 1 claimed, not attested, 0 software\).*: no violations/);
  });
});
