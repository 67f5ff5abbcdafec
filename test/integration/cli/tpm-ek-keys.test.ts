import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import Database from 'better-sqlite3';
import pg from 'pg';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { TPM_CHALLENGES_OPEN_MAX, type TpmChallenge, type TpmChallengeInput, type TpmEkAttestationInput } from '../../../shared/domain/identity';
import type { BypassRequest } from '../../../shared/domain/request';
import { ekEnrollmentAttestation, readEkCertificate, readPublicArea } from '../../../shared/node/tpm/tpm-ek';
import { handleText } from '../../../shared/node/tpm/tpm-keys';
import { EK_CERT_NV_INDEX, EK_RSA_PERSISTENT_HANDLE } from '../../../shared/tpm/tpm-credential';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { startSwtpm, type Swtpm, type TpmKey } from '../../support/swtpm';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { attestedTierPolicy } from '../../support/attested-tier-policy';
import { runCliInProcess } from './cli-harness';

// TPM attestation anchored in the TPM's endorsement key: a real swtpm manufactured by
// swtpm_setup --create-ek-cert (its local CA plays the TPM manufacturer, whose root the policy
// names as a tpm-ek root), the store's TPM2_MakeCredential answered by the TPM's
// TPM2_ActivateCredential, the approver key's TPM2_Certify by that AK.

x509.cryptoProvider.set(webcrypto as never);

const cli = runCliInProcess;


/** The EK's key, certified by a CA that is not the TPM manufacturer the policy names. */
async function ekCertificateFromAnotherCa(ekPem: string): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ek = new x509.X509Certificate(ekPem);
  const publicKey = await ek.publicKey.export({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, ['verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({ serialNumber: '0badca', subject: 'CN=unknown', issuer: 'CN=Some Other TPM Vendor', notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 86_400_000 * 365), publicKey, signingKey: keys.privateKey, signingAlgorithm: alg, extensions: [new x509.BasicConstraintsExtension(false, undefined, true)] });
  return cert.toString('pem') + '\n';
}

for (const backend of ['SQLite', 'PostgreSQL'] as const) describe(`TPM keys attested through the endorsement key: EK certificate, credential activation, certification (${backend})`, () => {
  let tpm: Swtpm;
  let fx: StoreFixture;
  let db: TempDatabase | undefined;
  let tmp: string;
  let ak: TpmKey;
  let admin: Record<string, string>;
  let bobToken: string;
  let nextHandle = 0x81000200;

  const challengeAs = (token: string, principal: string) => async (input: TpmChallengeInput): Promise<TpmChallenge> => {
    const res = await fx.call('POST', `/v1/approvers/${principal}/tpm-challenges`, { token, body: input });
    assert.equal(res.status, 201, res.text);
    return res.json as TpmChallenge;
  };
  /** A fresh approver key in the TPM and its attestation, answering a challenge asked for `principal`. */
  async function attested(principal: string, opts: { ekHandle?: number; ekCertNvIndex?: number } = {}): Promise<{ key: TpmKey; attestation: TpmEkAttestationInput }> {
    const key = await tpm.createKey();
    const attestation = await ekEnrollmentAttestation({ tcti: tpm.tcti, keyHandle: key.handle, publicArea: key.publicArea, akHandle: ak.handle, ekHandle: opts.ekHandle ?? EK_RSA_PERSISTENT_HANDLE, ekCertNvIndex: opts.ekCertNvIndex, ekIntermediates: [tpm.manufacturer!.intermediatePem], principal, now: fx.clock.now(), challenge: challengeAs(fx.adminToken, principal) });
    return { key, attestation };
  }
  async function enroll(principal: string, publicKeyPem: string, attestation: unknown): Promise<{ status: number; message: string }> {
    const res = await fx.call('POST', `/v1/admin/approvers/${principal}/keys`, { token: fx.adminToken, body: { publicKeyPem, attestation } });
    return { status: res.status, message: String(res.json?.error?.message ?? res.text) };
  }
  async function keyCount(principal: string): Promise<number> {
    return ((await fx.call('GET', `/v1/admin/approvers/${principal}/keys`, { token: fx.adminToken })).json.keys as unknown[]).length;
  }

  before(async () => {
    if (backend === 'PostgreSQL') db = await createTempDatabase('bg_tpm_ek');
    tpm = await startSwtpm({ ekCertificate: true });
    ak = await tpm.createKey({ restricted: true });
    tmp = await mkdtemp(join(tmpdir(), 'bg-cli-tpm-ek-'));
    await writeFile(join(tmp, 'ek-intermediate.pem'), tpm.manufacturer!.intermediatePem);
    fx = await startStoreFixture({
      policyYaml: attestedTierPolicy({ tier: 'low', approvers: ['bob', 'carol'], root: { id: 'swtpm-manufacturer', kind: 'tpm-ek', pem: tpm.manufacturer!.rootPem } }),
      databaseUrl: db?.url,
    });
    admin = { BREAKGLASS_STORE: fx.url, BREAKGLASS_TOKEN: fx.adminToken, XDG_CONFIG_HOME: join(tmp, 'config'), HOME: tmp };
    bobToken = await fx.token('bob', ['approver']);
  });
  after(async () => {
    await fx?.close();
    await db?.drop();
    await tpm?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('keygen --tpm --ek (bob asks the store for his challenge, his TPM answers it) → enroll → approve on an attestationRequired tier; a replayed challenge is refused', async () => {
    const bob = { ...admin, BREAKGLASS_TOKEN: bobToken };
    const made = await cli(['keygen', '--tpm', '--ek', '--out', join(tmp, 'bob'), '--principal', 'bob', '--tcti', tpm.tcti, '--handle', handleText(nextHandle++), '--ak', handleText(ak.handle), '--ek-chain', join(tmp, 'ek-intermediate.pem')], bob);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /challenge answered by this TPM's endorsement key; enroll within 60 minutes, once/);
    const attestation = JSON.parse(await readFile(join(tmp, 'bob.tpm-attestation.json'), 'utf8')) as TpmEkAttestationInput;
    assert.deepEqual(Object.keys(attestation).sort(), ['akPublic', 'certifyInfo', 'challengeId', 'issuedAt', 'kind', 'public', 'secret', 'signature']);
    assert.equal(attestation.kind, 'tpm-ek');

    const enrolled = await cli(['admin', 'approver', 'enroll', '--principal', 'bob', '--public-key', join(tmp, 'bob.pub.pem'), '--tpm-attestation', join(tmp, 'bob.tpm-attestation.json')], admin);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    const ekCert = new x509.X509Certificate(await readEkCertificate(tpm.tcti));
    const serial = ekCert.serialNumber.toLowerCase();
    assert.match(enrolled.stdout, new RegExp(`\\(attested \\(tpm, serial ${serial}\\): fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, firmwareVersion 0x[0-9a-f]+; endorsement key certificate ${serial} from CN=swtpm-localca \\(TPM id:00001014 swtpm id:20191023\\)\\)`));

    // The enrollment's ledger entry names the EK certificate and the AK it proved resident.
    const entries = (await fx.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: fx.adminToken })).json.entries as { type: string; data: Record<string, unknown> }[];
    const recorded = entries.find((e) => e.type === 'key_enrolled' && e.data.principal === 'bob')!.data.attestation as { kind: string; root: string; serial: string; ek: { issuer: string; manufacturer: string; akName: string; fingerprint: string } };
    assert.equal(recorded.kind, 'tpm');
    assert.equal(recorded.root, 'swtpm-manufacturer');
    assert.equal(recorded.ek.issuer, 'CN=swtpm-localca');
    assert.equal(recorded.ek.manufacturer, 'id:00001014');
    assert.equal(recorded.ek.akName, '000b' + createHash('sha256').update(ak.publicArea.subarray(2)).digest('hex'));
    assert.match(recorded.ek.fingerprint, /^[0-9a-f]{64}$/);

    const created = await fx.call('POST', '/v1/requests', { token: await fx.token('alice', ['requester']), body: { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: 'the integration suite is down for the whole org', severity: 'sev3', ttl: '15m' } });
    assert.equal(created.status, 201, created.text);
    const id = (created.json.request as BypassRequest).id;
    const approved = await cli(['approve', id, '--comment', 'checked the runner', '--key', join(tmp, 'bob.tpm.json')], bob);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match((await cli(['status', id], bob)).stdout, new RegExp(`approvals: 1/1 \\(bob \\[attested \\(tpm, serial ${serial}\\)\\]\\)`));

    // ledger verify's semantic audit replays the enrollment and counts the decision as attested
    // (once the log's checkpoint, signed within about 500 ms, covers the approval).
    const last = (await fx.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: fx.adminToken })).json.entries.length as number;
    for (let tries = 0; ((await fx.call('GET', '/v1/ledger/checkpoint', { token: fx.adminToken })).json.treeSize as number) < last; tries++) {
      assert.ok(tries < 200, 'the checkpoint never covered the approval');
      await new Promise((r) => setTimeout(r, 50));
    }
    const verified = await cli(['ledger', 'verify'], admin);
    assert.equal(verified.code, 0, `${verified.stdout}\n${verified.stderr}`);
    assert.match(verified.stdout, /1 decisions? \(keys: 1 attested, 0 claimed, not attested, 0 software\).*: no violations/);

    // The same answer again: the challenge was used. Nothing more is enrolled.
    const again = await enroll('bob', await readFile(join(tmp, 'bob.pub.pem'), 'utf8'), attestation);
    assert.equal(again.status, 400);
    assert.match(again.message, new RegExp(`replayed challenge ${attestation.challengeId}: it was already answered`));
    assert.equal(await keyCount('bob'), 1);
  });

  test('refused, each by name: an EK certificate from another CA, a wrong secret, an AK name that does not match, a challenge for another principal, an expired challenge', async () => {
    const ekPem = await readEkCertificate(tpm.tcti);
    const good = await attested('carol');
    const ekPublic = Buffer.from(await readPublicArea(tpm.tcti, EK_RSA_PERSISTENT_HANDLE)).toString('base64');

    // EK certificate from another CA (the same EK key, vouched for by a vendor the policy does
    // not name): the challenge itself is refused.
    const foreign = await fx.call('POST', '/v1/approvers/carol/tpm-challenges', { token: fx.adminToken, body: { ekCertificates: [await ekCertificateFromAnotherCa(ekPem)], ekPublic, akPublic: good.attestation.akPublic } });
    assert.equal(foreign.status, 400, foreign.text);
    assert.match(String(foreign.json.error.message), /attestation: the chain does not end at a tpm-ek root the policy names \(swtpm-manufacturer\): untrusted chain/);

    // An approver asks only for itself.
    const forOther = await fx.call('POST', '/v1/approvers/carol/tpm-challenges', { token: bobToken, body: { ekCertificates: [ekPem, tpm.manufacturer!.intermediatePem], ekPublic, akPublic: good.attestation.akPublic } });
    assert.equal(forOther.status, 403, forOther.text);
    assert.match(String(forOther.json.error.message), /bob may ask for a TPM challenge only for itself, not for carol/);

    // A challenge issued for carol presented to enroll bob.
    const forCarol = await attested('carol');
    const other = await enroll('bob', forCarol.key.publicKeyPem, forCarol.attestation);
    assert.equal(other.status, 400);
    assert.match(other.message, new RegExp(`challenge ${forCarol.attestation.challengeId} was issued for principal carol, not bob`));

    // Wrong secret: not what the TPM released.
    const wrong = await attested('carol');
    const secret = Buffer.from(wrong.attestation.secret, 'base64');
    secret[0]! ^= 1;
    const wrongSecret = await enroll('carol', wrong.key.publicKeyPem, { ...wrong.attestation, secret: secret.toString('base64') });
    assert.equal(wrongSecret.status, 400);
    assert.match(wrongSecret.message, /wrong secret for challenge tpmc_[0-9a-f]{32}: it is not what the store encrypted to the EK/);
    // ...and the challenge is used up: the right secret after a wrong one is a replay.
    assert.match((await enroll('carol', wrong.key.publicKeyPem, wrong.attestation)).message, /replayed challenge/);

    // AK name mismatch: the enrollment names another AK than the challenge was made for.
    const ak2 = await tpm.createKey({ restricted: true });
    const mismatch = await enroll('carol', good.key.publicKeyPem, { ...good.attestation, akPublic: Buffer.from(ak2.publicArea).toString('base64') });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.message, /AK name mismatch: the challenge was made for the attestation key named 000b[0-9a-f]{64}, not 000b[0-9a-f]{64}/);

    // Expired: past TPM_CHALLENGE_TTL_MS on the store's (injected) clock.
    const late = await attested('carol');
    fx.clock.advance(61 * 60_000);
    try {
      const expired = await enroll('carol', late.key.publicKeyPem, late.attestation);
      assert.equal(expired.status, 400);
      assert.match(expired.message, /challenge tpmc_[0-9a-f]{32} expired at .* \(store clock .*\): run `breakglass keygen --tpm --ek` again/);
    } finally {
      fx.clock.offsetMs = 0;
    }
    assert.equal(await keyCount('carol'), 0);
  });

  test("an ECC endorsement key (swtpm's P-384 EK, certificate at NV 0x01c00016): the credential shared by ECDH is opened by the TPM, the key enrolls as attested", async () => {
    const { key, attestation } = await attested('carol', { ekHandle: 0x81010016, ekCertNvIndex: EK_CERT_NV_INDEX.eccP384 });
    const enrolled = await fx.call('POST', '/v1/admin/approvers/carol/keys', { token: fx.adminToken, body: { publicKeyPem: key.publicKeyPem, attestation } });
    assert.equal(enrolled.status, 201, enrolled.text);
    const ecc = new x509.X509Certificate(await readEkCertificate(tpm.tcti, EK_CERT_NV_INDEX.eccP384));
    assert.equal(ecc.publicKey.algorithm.name, 'ECDSA');
    assert.equal(enrolled.json.attestation.serial, ecc.serialNumber.toLowerCase());
    assert.equal(enrolled.json.attestation.ek.issuer, 'CN=swtpm-localca');
    // A wrong secret is refused the same way as for an RSA EK.
    const wrong = await attested('carol', { ekHandle: 0x81010016, ekCertNvIndex: EK_CERT_NV_INDEX.eccP384 });
    const secret = Buffer.from(wrong.attestation.secret, 'base64');
    secret[3]! ^= 0x80;
    assert.match((await enroll('carol', wrong.key.publicKeyPem, { ...wrong.attestation, secret: secret.toString('base64') })).message, /wrong secret for challenge/);
    await fx.call('DELETE', `/v1/admin/approvers/carol/keys/${enrolled.json.keyId as string}`, { token: fx.adminToken });
  });

  test('refused at the challenge: an attestation key that is not fixedTPM, or not restricted; a public area that is not the certified EK', async () => {
    const ekPem = await readEkCertificate(tpm.tcti);
    const ekCertificates = [ekPem, tpm.manufacturer!.intermediatePem];
    const ekPublic = Buffer.from(await readPublicArea(tpm.tcti, EK_RSA_PERSISTENT_HANDLE)).toString('base64');
    const ask = async (akPublic: Uint8Array | string, ek = ekPublic) => (await fx.call('POST', '/v1/approvers/carol/tpm-challenges', { token: fx.adminToken, body: { ekCertificates, ekPublic: ek, akPublic: typeof akPublic === 'string' ? akPublic : Buffer.from(akPublic).toString('base64') } }));

    const unrestricted = await tpm.createKey({ attributes: 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' });
    const r1 = await ask(unrestricted.publicArea);
    assert.equal(r1.status, 400, r1.text);
    assert.match(String(r1.json.error.message), /the attestation key is not restricted/);

    const movable = await tpm.createKey({ restricted: true, attributes: 'sensitivedataorigin|userwithauth|sign|restricted' });
    const r2 = await ask(movable.publicArea);
    assert.equal(r2.status, 400, r2.text);
    assert.match(String(r2.json.error.message), /the attestation key is not fixedTPM/);

    // The AK's public area handed in as the EK: not the certified endorsement key.
    const r3 = await ask(ak.publicArea, Buffer.from(ak.publicArea).toString('base64'));
    assert.equal(r3.status, 400, r3.text);
    assert.match(String(r3.json.error.message), /the endorsement key is an ECC key|ekPublic is not an endorsement key|ekPublic holds another key/);

    const ok = await ask(ak.publicArea);
    assert.equal(ok.status, 201, ok.text);
  });

  /** The meta keys of challenges and their used marks, read from the database itself. */
  async function challengeKeys(): Promise<string[]> {
    const sql = "SELECT key FROM meta WHERE key LIKE 'tpm-challenge%' ORDER BY key";
    if (db) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        return (await client.query<{ key: string }>(sql)).rows.map((r) => r.key);
      } finally {
        await client.end();
      }
    }
    const file = new Database(dataDirPaths(fx.dataDir).databasePath, { readonly: true });
    try {
      return (file.prepare(sql).all() as { key: string }[]).map((r) => r.key);
    } finally {
      file.close();
    }
  }

  test(`asking over and over cannot grow the store: at most ${TPM_CHALLENGES_OPEN_MAX} unexpired challenges a principal, expired ones (and their used marks) removed at the next ask`, async () => {
    const ekPem = await readEkCertificate(tpm.tcti);
    const body = { ekCertificates: [ekPem, tpm.manufacturer!.intermediatePem], ekPublic: Buffer.from(await readPublicArea(tpm.tcti, EK_RSA_PERSISTENT_HANDLE)).toString('base64'), akPublic: Buffer.from(ak.publicArea).toString('base64') };
    const erinToken = await fx.token('erin', ['approver']);
    const ask = (token = erinToken, principal = 'erin') => fx.call('POST', `/v1/approvers/${principal}/tpm-challenges`, { token, body });
    // One of erin's is answered (used), so its used mark is there too.
    const answered = await attested('erin');
    assert.equal((await enroll('erin', answered.key.publicKeyPem, answered.attestation)).status, 201);
    for (let i = 1; i < TPM_CHALLENGES_OPEN_MAX; i++) assert.equal((await ask()).status, 201);
    const refused = await ask();
    assert.equal(refused.status, 409, refused.text);
    assert.match(String(refused.json.error.message), new RegExp(`erin already holds ${TPM_CHALLENGES_OPEN_MAX} unexpired TPM challenges \\(at most ${TPM_CHALLENGES_OPEN_MAX}\\); answer one with an enrollment, or ask again once the oldest expires \\(60 min after it was issued\\)`));
    // An admin asking for erin meets the same bound; another principal does not.
    assert.equal((await ask(fx.adminToken)).status, 409);
    assert.equal((await ask(fx.adminToken, 'frank')).status, 201);
    const before = await challengeKeys();
    assert.ok(before.includes(`tpm-challenge-used:${answered.attestation.challengeId}`), before.join());

    // An hour later every one of those has expired: the next ask removes them all and succeeds.
    fx.clock.advance(61 * 60_000);
    try {
      const fresh = await ask();
      assert.equal(fresh.status, 201, fresh.text);
      assert.deepEqual(await challengeKeys(), [`tpm-challenge:${(fresh.json as TpmChallenge).challengeId}`]);
      // An expired challenge, removed, is refused as unknown: never as answerable.
      const late = await enroll('erin', answered.key.publicKeyPem, answered.attestation);
      assert.equal(late.status, 400);
      assert.match(late.message, new RegExp(`unknown challenge ${answered.attestation.challengeId}`));
    } finally {
      fx.clock.offsetMs = 0;
    }
  });
});
