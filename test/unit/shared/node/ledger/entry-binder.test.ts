import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import { utf8 } from '../../../../../shared/bytes';
import { ENTRY_BINDING_SIZE, LEGACY_ENTRY_BINDING_SIZE, entryBindingStatement, legacyEntryBindingMessage } from '../../../../../shared/ledger/entry-binding';
import { logKeyEntryBinder, nodeTreeHasher as hasher } from '../../../../../shared/node/ledger/node-crypto';

const ORIGIN = 'breakglass.example.com/test';
const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const leaf = (text: string) => hasher.leaf(utf8(text));

describe('entry bindings: a MAC under a key derived from the log key (v2), v1 signatures still accepted', () => {
  test('a binding is 32 bytes, the same for every process holding the key, and verifies only for its log, seq and leaf', () => {
    const key = pem();
    const binder = logKeyEntryBinder(ORIGIN, key);
    const b = binder.bind(7, leaf('a'));
    assert.equal(b.length, ENTRY_BINDING_SIZE);
    // Another instance (or a restart) with the same key file makes and accepts the same binding.
    const again = logKeyEntryBinder(ORIGIN, key);
    assert.deepEqual(again.bind(7, leaf('a')), b);
    assert.equal(again.verify(7, leaf('a'), b), true);
    assert.equal(binder.verify(8, leaf('a'), b), false, 'another seq');
    assert.equal(binder.verify(7, leaf('b'), b), false, 'another leaf');
    assert.equal(logKeyEntryBinder('breakglass.example.com/other', key).verify(7, leaf('a'), b), false, 'another log origin');
    assert.equal(logKeyEntryBinder(ORIGIN, pem()).verify(7, leaf('a'), b), false, 'another key');
    const flipped = Uint8Array.from(b);
    flipped[31]! ^= 1;
    assert.equal(binder.verify(7, leaf('a'), flipped), false, 'one bit changed');
  });

  test('the MAC key is not the signing key: the binding is not an HMAC keyed with the raw seed, nor a signature', () => {
    const key = pem();
    const binder = logKeyEntryBinder(ORIGIN, key);
    const seed = Buffer.from(createPrivateKey(key).export({ format: 'jwk' }).d!, 'base64url');
    const rawSeedMac = createHmac('sha256', seed).update(entryBindingStatement(ORIGIN, 1, leaf('x')), 'utf8').digest();
    assert.notDeepEqual(Buffer.from(binder.bind(1, leaf('x'))), rawSeedMac);
  });

  test('v1 bindings (Ed25519 by the log key over the v1 statement) verify; anything else of either size, a missing one or another length does not', () => {
    const key = pem();
    const binder = logKeyEntryBinder(ORIGIN, key);
    const privateKey = createPrivateKey(key);
    const v1 = new Uint8Array(sign(null, legacyEntryBindingMessage(ORIGIN, 3, leaf('c')), privateKey));
    assert.equal(binder.verify(3, leaf('c'), v1), true);
    assert.equal(binder.verify(4, leaf('c'), v1), false);
    assert.equal(binder.verify(3, leaf('c'), new Uint8Array(sign(null, utf8(entryBindingStatement(ORIGIN, 3, leaf('c'))), privateKey))), false, 'a signature over the v2 statement');
    assert.equal(binder.verify(3, leaf('c'), new Uint8Array(sign(null, legacyEntryBindingMessage(ORIGIN, 3, leaf('c')), createPrivateKey(pem())))), false, 'another key');
    for (const junk of [null, undefined, new Uint8Array(0), new Uint8Array(31), new Uint8Array(32), new Uint8Array(64), new Uint8Array(65)]) {
      assert.equal(binder.verify(3, leaf('c'), junk), false, `${junk?.length ?? String(junk)} bytes`);
    }
  });

  test("written as v1 (a rolling upgrade): an Ed25519 signature over the v1 statement, which the previous release's check accepts; a v2 binder of the same key accepts it too", () => {
    const key = pem();
    const v1 = logKeyEntryBinder(ORIGIN, key, 'v1');
    const b = v1.bind(9, leaf('i'));
    assert.equal(b.length, LEGACY_ENTRY_BINDING_SIZE);
    assert.equal(verify(null, legacyEntryBindingMessage(ORIGIN, 9, leaf('i')), createPublicKey(createPrivateKey(key)), b), true);
    assert.equal(logKeyEntryBinder(ORIGIN, key).verify(9, leaf('i'), b), true);
    assert.equal(v1.verify(9, leaf('i'), logKeyEntryBinder(ORIGIN, key).bind(9, leaf('i'))), true, 'and it accepts v2');
  });

  test('a log key that is not Ed25519 is refused by name', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => logKeyEntryBinder(ORIGIN, rsa), /the log key is rsa, not Ed25519/);
  });
});
