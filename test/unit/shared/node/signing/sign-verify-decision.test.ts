import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { assertBundleLatest, bundleFromJSON, isBundleWithDsseEnvelope, isBundleWithPublicKey } from '@sigstore/bundle';
import { DECISION_PAYLOAD_TYPE, SigstoreBundleJsonSchema, type SigstoreBundleJson } from '../../../../../shared/domain/decision';
import { canonicalJson } from '../../../../../shared/canonical-json';
import { AppError } from '../../../../../shared/errors';
import { signDecision } from '../../../../../shared/node/signing/sign-decision';
import type { DecisionSigner } from '../../../../../shared/node/signing/signer';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../../../shared/node/signing/software-signer';
import { verifyDecisionBundle } from '../../../../../shared/node/signing/verify-decision';
import { canonicalRequestFixture, nodeSha256, statementFixture } from '../../../../support/decision-fixtures';
import { requestDigest } from '../../../../../shared/signing/request-digest';

const alice = fileKeySigner(generateSoftwareKeyPair().privateKeyPem);
const bob = fileKeySigner(generateSoftwareKeyPair().privateKeyPem);
const enrolled = new Map([alice, bob].map((s) => [s.keyId, { publicKeyPem: s.publicKeyPem }]));
const lookup = (keyId: string) => enrolled.get(keyId);

// Tests mutate bundles freely to build every malformed variant.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const clone = (b: SigstoreBundleJson): any => structuredClone(b);

async function rejects(bundle: unknown, pattern: RegExp, keys = lookup) {
  await assert.rejects(verifyDecisionBundle(bundle, keys), (e: unknown) => {
    assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
    assert.equal(e.code, 'verification_failed');
    assert.match(e.message, pattern);
    return true;
  });
}

function payloadOf(b: SigstoreBundleJson): string {
  return Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8');
}

describe('signDecision / verifyDecisionBundle', () => {
  test('round trip: the statement, key id and signature digest come back', async () => {
    const statement = statementFixture();
    const bundle = await signDecision(statement, bob);
    const verified = await verifyDecisionBundle(bundle, lookup);
    assert.deepEqual(verified.statement, statement);
    assert.equal(verified.keyId, bob.keyId);
    const rawSig = Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64');
    assert.equal(verified.signatureDigest, `sha256:${createHash('sha256').update(rawSig).digest('hex')}`);
    // survives a JSON round trip (it travels over HTTP and sits in the ledger)
    const again = await verifyDecisionBundle(JSON.parse(JSON.stringify(bundle)), lookup);
    assert.deepEqual(again.statement, statement);
  });

  test('bundle shape: v0.3 media type, DSSE, public-key hint = key id, canonical payload', async () => {
    const statement = statementFixture({ decision: 'deny' });
    const bundle = await signDecision(statement, bob);
    assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.deepEqual(bundle.verificationMaterial.publicKey, { hint: bob.keyId });
    assert.equal(bundle.dsseEnvelope.payloadType, DECISION_PAYLOAD_TYPE);
    assert.equal(bundle.dsseEnvelope.signatures.length, 1);
    assert.equal(bundle.dsseEnvelope.signatures[0]!.keyid, bob.keyId);
    assert.equal(payloadOf(bundle), canonicalJson(statement));
    SigstoreBundleJsonSchema.parse(bundle);
    const parsed = bundleFromJSON(bundle);
    assertBundleLatest(parsed);
    assert.equal(isBundleWithPublicKey(parsed), true);
    assert.equal(isBundleWithDsseEnvelope(parsed), true);
  });

  test('two signatures of the same statement differ (ECDSA is randomized) and have distinct digests', async () => {
    const statement = statementFixture();
    const a = await verifyDecisionBundle(await signDecision(statement, bob), lookup);
    const b = await verifyDecisionBundle(await signDecision(statement, bob), lookup);
    assert.notEqual(a.signatureDigest, b.signatureDigest);
  });

  test('a flipped payload byte is rejected', async () => {
    const bundle = await signDecision(statementFixture(), bob);
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    // flip a byte inside the approver name: still valid JSON, still a valid statement
    const at = payload.indexOf('"bob"') + 1;
    payload[at] = 'c'.charCodeAt(0);
    const tampered = clone(bundle);
    tampered.dsseEnvelope.payload = payload.toString('base64');
    await rejects(tampered, /bad signature/);
  });

  test('a flipped signature byte is rejected', async () => {
    const bundle = await signDecision(statementFixture(), bob);
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64');
    sig[sig.length - 1]! ^= 0x01;
    const tampered = clone(bundle);
    tampered.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
    await rejects(tampered, /bad signature/);
  });

  test('an unknown key is rejected', async () => {
    const mallory = fileKeySigner(generateSoftwareKeyPair().privateKeyPem);
    await rejects(await signDecision(statementFixture(), mallory), /unknown key/);
  });

  test('a swapped hint (another enrolled key) is rejected', async () => {
    const bundle = clone(await signDecision(statementFixture(), bob));
    bundle.verificationMaterial.publicKey.hint = alice.keyId;
    await rejects(bundle, /does not match the bundle's key hint/);
    bundle.dsseEnvelope.signatures[0]!.keyid = alice.keyId;
    await rejects(bundle, /bad signature/);
    bundle.dsseEnvelope.signatures[0]!.keyid = '';
    await rejects(bundle, /bad signature/);
  });

  test('a lookup returning a different key than the hint names is rejected', async () => {
    const bundle = await signDecision(statementFixture(), bob);
    await rejects(bundle, /different key id/, () => ({ publicKeyPem: alice.publicKeyPem }));
  });

  test('keys parsed once per PEM text (kept between calls) still decide every call: a swapped key, and a PEM that does not parse, are refused each time', async () => {
    const bundle = await signDecision(statementFixture(), bob);
    await verifyDecisionBundle(bundle, lookup);
    await verifyDecisionBundle(await signDecision(statementFixture(), alice), lookup);
    for (let i = 0; i < 2; i++) {
      await rejects(bundle, /different key id/, () => ({ publicKeyPem: alice.publicKeyPem }));
      await rejects(bundle, /is not a usable public key/, () => ({ publicKeyPem: bob.publicKeyPem.replace(/[A-Za-z0-9+/]{20}\n/, 'AAAAAAAAAAAAAAAAAAAA\n') }));
      await rejects(bundle, /is not a usable public key/, () => ({ publicKeyPem: 'no key' }));
    }
    // Another key's text for the same key (a PEM with CRLF line ends) is parsed on its own and verifies.
    assert.equal((await verifyDecisionBundle(bundle, () => ({ publicKeyPem: bob.publicKeyPem.replace(/\n/g, '\r\n') }))).keyId, bob.keyId);
  });

  test('a second signature is rejected', async () => {
    const bundle = clone(await signDecision(statementFixture(), bob));
    const other = await signDecision(statementFixture(), alice);
    bundle.dsseEnvelope.signatures.push(other.dsseEnvelope.signatures[0]!);
    await rejects(bundle, /exactly one signature.*found 2/);
    bundle.dsseEnvelope.signatures = [];
    await rejects(bundle, /exactly one signature.*found 0/);
  });

  test('a wrong payload type is rejected', async () => {
    const bundle = clone(await signDecision(statementFixture(), bob));
    bundle.dsseEnvelope.payloadType = 'application/vnd.in-toto+json';
    await rejects(bundle, /wrong payload type/);
  });

  test('a validly signed payload of another type is rejected', async () => {
    // Sign a non-decision payload with an enrolled key through a signer that does not validate.
    const { DSSEBundleBuilder } = await import('@sigstore/sign');
    const { bundleToJSON } = await import('@sigstore/bundle');
    const builder = new DSSEBundleBuilder({
      witnesses: [],
      signer: { sign: async (d) => ({ signature: Buffer.from(await bob.sign(d)), key: { $case: 'publicKey', publicKey: bob.publicKeyPem, hint: bob.keyId } }) },
    });
    const notADecision = bundleToJSON(await builder.create({ data: Buffer.from('{"hello":"world"}'), type: DECISION_PAYLOAD_TYPE }));
    await rejects(notADecision, /not a valid decision statement/);
    const nonCanonical = bundleToJSON(
      await builder.create({ data: Buffer.from(JSON.stringify(statementFixture(), null, 1)), type: DECISION_PAYLOAD_TYPE }),
    );
    await rejects(nonCanonical, /not the canonical JSON/);
    const notJson = bundleToJSON(await builder.create({ data: Buffer.from('not json'), type: DECISION_PAYLOAD_TYPE }));
    await rejects(notJson, /not UTF-8 JSON/);
  });

  test('a bundle for another request (id or digest) is rejected when the caller names the request', async () => {
    const request = canonicalRequestFixture();
    const bundle = await signDecision(statementFixture({ request }), bob);
    const digest = requestDigest(request, nodeSha256);
    const ok = await verifyDecisionBundle(bundle, lookup, { requestId: request.id, requestDigest: digest });
    assert.equal(ok.statement.requestDigest, digest);
    const changed = canonicalRequestFixture({ scope: { repo: 'payments-api', branch: 'release' } });
    await assert.rejects(
      verifyDecisionBundle(bundle, lookup, { requestId: request.id, requestDigest: requestDigest(changed, nodeSha256) }),
      (e: unknown) => e instanceof AppError && e.code === 'verification_failed' && /another version of the request/.test(e.message),
    );
    await assert.rejects(
      verifyDecisionBundle(bundle, lookup, { requestId: 'req_ffffffffffffffff' }),
      (e: unknown) => e instanceof AppError && e.code === 'verification_failed' && /another request/.test(e.message),
    );
  });

  test('tlog entries added later (by the ledger) do not affect the signature check', async () => {
    const statement = statementFixture();
    const bundle = clone(await signDecision(statement, bob));
    bundle.verificationMaterial.tlogEntries = [
      {
        logIndex: '7',
        logId: { keyId: Buffer.alloc(32, 1).toString('base64') },
        kindVersion: { kind: 'dsse', version: '0.0.1' },
        integratedTime: '1764151200',
        inclusionProof: { logIndex: '7', rootHash: Buffer.alloc(32, 2).toString('base64'), treeSize: '8', hashes: [], checkpoint: { envelope: 'log\n8\nAAAA\n' } },
        canonicalizedBody: Buffer.from('{}').toString('base64'),
      },
    ];
    const verified = await verifyDecisionBundle(bundle, lookup);
    assert.deepEqual(verified.statement, statement);
    // ...but the signature still has to be right
    bundle.dsseEnvelope.payload = Buffer.from(canonicalJson({ ...statement, comment: 'changed' })).toString('base64');
    await rejects(bundle, /bad signature/);
  });

  test('malformed bundles are rejected with a message', async () => {
    const bundle = await signDecision(statementFixture(), bob);
    await rejects(null, /not a JSON object/);
    await rejects('x', /not a JSON object/);
    await rejects([], /not a JSON object/);
    await rejects({ ...bundle, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2' }, /wrong bundle media type/);
    const noEnvelope = clone(bundle);
    delete noEnvelope.dsseEnvelope;
    await rejects(noEnvelope, /no dsseEnvelope/);
    const noKey = clone(bundle);
    noKey.verificationMaterial = {};
    await rejects(noKey, /malformed bundle/);
    const emptyHint = clone(bundle);
    emptyHint.verificationMaterial.publicKey.hint = '';
    emptyHint.dsseEnvelope.signatures[0]!.keyid = '';
    await rejects(emptyHint, /empty public-key hint/);
    const emptyPayload = clone(bundle);
    emptyPayload.dsseEnvelope.payload = '';
    await rejects(emptyPayload, /malformed bundle/);
  });

  test('signDecision refuses an invalid statement and a signer whose key does not match', async () => {
    const statement = statementFixture();
    await assert.rejects(
      signDecision({ ...statement, ttl: undefined }, bob),
      (e: unknown) => e instanceof AppError && e.code === 'invalid_input',
    );
    const liar: DecisionSigner = { ...bob, sign: (d) => alice.sign(d) };
    await assert.rejects(signDecision(statement, liar), (e: unknown) => e instanceof AppError && e.code === 'verification_failed');
  });
});
