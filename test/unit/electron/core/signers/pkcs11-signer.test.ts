import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { copyFile, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../../../shared/errors';
import { signDecision } from '../../../../../shared/node/signing/sign-decision';
import { verifyDecisionBundle } from '../../../../../shared/node/signing/verify-decision';
import { generatePkcs11Key, MAX_PIN_ATTEMPTS, openPkcs11Signer, type PinRequest, type Pkcs11SignerOptions } from '../../../../../electron/core/signers/pkcs11-signer';
import { addSoftHsmToken, createSoftHsmToken, type TestToken } from '../../../../support/softhsm';
import { statementFixture } from '../../../../support/decision-fixtures';
import * as pkcs11js from 'pkcs11js';

const pk = ((pkcs11js as unknown as { default?: typeof pkcs11js }).default ?? pkcs11js) as typeof pkcs11js;

/** A PIN callback that records every request and answers from a script. */
function pinSource(...answers: string[]) {
  const asked: PinRequest[] = [];
  const getPin = async (request: PinRequest) => {
    asked.push(request);
    const next = answers.length > 1 ? answers.shift()! : answers[0]!;
    return next;
  };
  return { asked, getPin };
}

/** Read attributes of the token's objects with the raw PKCS#11 API (as an attacker would try). */
function withRawSession<T>(token: TestToken, fn: (lib: pkcs11js.PKCS11, session: Buffer) => T, readWrite = false): T {
  const lib = new pk.PKCS11();
  lib.load(token.modulePath);
  lib.C_Initialize();
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label)!;
    const session = lib.C_OpenSession(slot, pk.CKF_SERIAL_SESSION | (readWrite ? pk.CKF_RW_SESSION : 0));
    try {
      lib.C_Login(session, pk.CKU_USER, token.userPin);
      return fn(lib, session);
    } finally {
      lib.C_CloseSession(session);
    }
  } finally {
    lib.C_Finalize();
    lib.close();
  }
}

describe('PKCS#11 signer against a real SoftHSM2 token', () => {
  let token: TestToken;
  let base: Omit<Pkcs11SignerOptions, 'getPin'>;

  before(async () => {
    token = await createSoftHsmToken();
    process.env.SOFTHSM2_CONF = token.confPath;
    base = { modulePath: token.modulePath, tokenLabel: token.label, keyLabel: 'approver-key' };
  });
  after(() => token?.cleanup());

  test('generates a key on the token; a decision signed with it verifies', async () => {
    const pins = pinSource(token.userPin);
    const signer = await generatePkcs11Key({ ...base, getPin: pins.getPin });
    assert.equal(signer.hardwareBacked, true);
    assert.match(signer.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
    assert.match(signer.keyId, /^[0-9a-f]{64}$/);
    assert.deepEqual(pins.asked, [{ tokenLabel: 'bg-test', keyLabel: 'approver-key', purpose: 'generate-key', attempt: 1, previousError: null }]);

    const statement = statementFixture();
    const bundle = await signDecision(statement, signer);
    const verified = await verifyDecisionBundle(bundle, (id) => (id === signer.keyId ? { publicKeyPem: signer.publicKeyPem } : undefined));
    assert.deepEqual(verified.statement, statement);
    assert.equal(verified.keyId, signer.keyId);
    assert.equal(pins.asked.length, 2, 'one PIN for generating, one for signing (no cache by default)');
    assert.equal(pins.asked[1]!.purpose, 'sign');
  });

  test('an existing key is selected by label, without a PIN, and signs DER ECDSA', async () => {
    const pins = pinSource(token.userPin);
    const signer = await openPkcs11Signer({ ...base, getPin: pins.getPin });
    assert.equal(pins.asked.length, 0, 'reading the public key needs no PIN');
    const data = Buffer.from('some DSSE PAE bytes');
    const sig = await signer.sign(data);
    assert.equal(sig[0], 0x30, 'DER, not raw r||s');
    assert.equal(verify('sha256', data, signer.publicKeyPem, sig), true);
    // without a token label: the only initialized token is used
    const { tokenLabel: _drop, ...noLabel } = base;
    const byDefault = await openPkcs11Signer({ ...noLabel, getPin: pins.getPin });
    assert.equal(byDefault.keyId, signer.keyId);
  });

  test('a pair whose halves carry different labels (as ykcs11 and OpenSC PIV label them) is found by its CKA_ID and signs', async () => {
    const pins = pinSource(token.userPin);
    const made = await generatePkcs11Key({ ...base, keyLabel: 'piv-style', getPin: pins.getPin });
    withRawSession(token, (lib, session) => {
      for (const [cls, label] of [
        [pk.CKO_PUBLIC_KEY, 'Public key for Digital Signature'],
        [pk.CKO_PRIVATE_KEY, 'Private key for Digital Signature'],
      ] as const) {
        lib.C_FindObjectsInit(session, [
          { type: pk.CKA_CLASS, value: cls },
          { type: pk.CKA_LABEL, value: 'piv-style' },
        ]);
        const [handle] = lib.C_FindObjects(session, 2);
        lib.C_FindObjectsFinal(session);
        assert.ok(handle);
        lib.C_SetAttributeValue(session, handle, [{ type: pk.CKA_LABEL, value: label }]);
      }
    }, true);
    const signer = await openPkcs11Signer({ ...base, keyLabel: 'Public key for Digital Signature', getPin: pins.getPin });
    assert.equal(signer.keyId, made.keyId);
    const data = Buffer.from('signed through the private half found by id');
    assert.equal(verify('sha256', data, signer.publicKeyPem, await signer.sign(data)), true);
  });

  test('the private key is non-extractable and sensitive: its value cannot be read', () => {
    withRawSession(token, (lib, session) => {
      lib.C_FindObjectsInit(session, [
        { type: pk.CKA_CLASS, value: pk.CKO_PRIVATE_KEY },
        { type: pk.CKA_LABEL, value: 'approver-key' },
      ]);
      const [key] = lib.C_FindObjects(session, 2);
      lib.C_FindObjectsFinal(session);
      assert.ok(key, 'private key object exists on the token');
      const [extractable, sensitive, onToken, isPrivate] = lib.C_GetAttributeValue(session, key, [
        { type: pk.CKA_EXTRACTABLE },
        { type: pk.CKA_SENSITIVE },
        { type: pk.CKA_TOKEN },
        { type: pk.CKA_PRIVATE },
      ]);
      assert.equal(extractable!.value[0], 0, 'CKA_EXTRACTABLE false');
      assert.equal(sensitive!.value[0], 1, 'CKA_SENSITIVE true');
      assert.equal(onToken!.value[0], 1, 'CKA_TOKEN true');
      assert.equal(isPrivate!.value[0], 1, 'CKA_PRIVATE true');
      assert.throws(() => lib.C_GetAttributeValue(session, key, [{ type: pk.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
    });
  });

  test('a wrong PIN is asked again in place, saying why; after the last try nothing is signed', async () => {
    const pins = pinSource('000000');
    const signer = await openPkcs11Signer({ ...base, getPin: pins.getPin });
    await assert.rejects(signer.sign(Buffer.from('x')), (e: unknown) => {
      assert.ok(e instanceof AppError, String(e));
      assert.equal(e.code, 'forbidden');
      assert.match(e.message, new RegExp(`wrong PIN for token "bg-test" ${MAX_PIN_ATTEMPTS} times: nothing was signed`));
      return true;
    });
    assert.deepEqual(pins.asked.map((r) => r.attempt), Array.from({ length: MAX_PIN_ATTEMPTS }, (_, i) => i + 1));
    assert.equal(pins.asked[0]!.previousError, null);
    // SoftHSM2 reports a low try count after a wrong PIN: the retry prompt says so.
    for (const retry of pins.asked.slice(1)) assert.equal(retry.previousError, 'Wrong PIN. Few tries left before the PIN locks.');
    // A typo, then the right PIN: signed in the same operation (nothing restarts).
    const retried = pinSource('000000', token.userPin);
    const again = await openPkcs11Signer({ ...base, getPin: retried.getPin });
    const sig = await again.sign(Buffer.from('retried'));
    assert.equal(verify('sha256', Buffer.from('retried'), again.publicKeyPem, sig), true);
    assert.deepEqual(retried.asked.map((r) => r.attempt), [1, 2]);
    const empty = await openPkcs11Signer({ ...base, getPin: async () => '' });
    await assert.rejects(empty.sign(Buffer.from('x')), (e: unknown) => e instanceof AppError && /no PIN given/.test(e.message));
    const cancelled = await openPkcs11Signer({ ...base, getPin: async () => Promise.reject(new AppError('forbidden', 'PIN entry was cancelled: nothing was signed')) });
    await assert.rejects(cancelled.sign(Buffer.from('x')), (e: unknown) => e instanceof AppError && /cancelled/.test(e.message));
    // the token still works with the right PIN afterwards (and was not locked by our tries)
    const ok = await openPkcs11Signer({ ...base, getPin: pinSource(token.userPin).getPin });
    assert.ok((await ok.sign(Buffer.from('x'))).length > 0);
  });

  test('the PIN cache is honoured, expires, and is dropped after a wrong PIN', async () => {
    let now = 1_000_000;
    const pins = pinSource(token.userPin);
    const signer = await openPkcs11Signer({ ...base, getPin: pins.getPin, pinCacheMs: 5 * 60_000, now: () => now });
    await signer.sign(Buffer.from('a'));
    await signer.sign(Buffer.from('b'));
    now += 4 * 60_000;
    await signer.sign(Buffer.from('c'));
    assert.equal(pins.asked.length, 1, 'cached for 5 minutes');
    now += 2 * 60_000;
    await signer.sign(Buffer.from('d'));
    assert.equal(pins.asked.length, 2, 'asked again after expiry');
    signer.clearPinCache();
    await signer.sign(Buffer.from('e'));
    assert.equal(pins.asked.length, 3, 'asked again after clearPinCache');

    // a wrong PIN is never cached: the right one typed on the retry is
    const wrong = pinSource('999999', token.userPin);
    const s2 = await openPkcs11Signer({ ...base, getPin: wrong.getPin, pinCacheMs: 60_000, now: () => now });
    await s2.sign(Buffer.from('x'));
    await s2.sign(Buffer.from('y'));
    assert.equal(wrong.asked.length, 2);
  });

  test('the PIN cache also expires on the real clock', async () => {
    const pins = pinSource(token.userPin);
    // Long enough that two signatures fit inside it on a loaded machine.
    const signer = await openPkcs11Signer({ ...base, getPin: pins.getPin, pinCacheMs: 1_000 });
    await signer.sign(Buffer.from('a'));
    await signer.sign(Buffer.from('b'));
    assert.equal(pins.asked.length, 1);
    await new Promise((r) => setTimeout(r, 1_100));
    await signer.sign(Buffer.from('c'));
    assert.equal(pins.asked.length, 2);
  });

  test('withPinPrompt: a signature made through it asks its own PIN callback, not the one the signer opened with', async () => {
    const opened = pinSource('never-asked');
    const signer = await openPkcs11Signer({ ...base, getPin: opened.getPin });
    const mine = pinSource(token.userPin);
    const scoped = signer.withPinPrompt(mine.getPin);
    assert.equal(scoped.keyId, signer.keyId);
    const sig = await scoped.sign(Buffer.from('scoped'));
    assert.equal(verify('sha256', Buffer.from('scoped'), signer.publicKeyPem, sig), true);
    assert.equal(mine.asked.length, 1);
    assert.equal(opened.asked.length, 0);
  });

  test('concurrent signatures are serialized and all verify', async () => {
    const signer = await openPkcs11Signer({ ...base, getPin: pinSource(token.userPin).getPin, pinCacheMs: 60_000 });
    const data = Array.from({ length: 8 }, (_, i) => Buffer.from(`message ${i}`));
    const sigs = await Promise.all(data.map((d) => signer.sign(d)));
    sigs.forEach((sig, i) => assert.equal(verify('sha256', data[i]!, signer.publicKeyPem, sig), true));
  });

  test('openPkcs11Signer with mode "generate" generates; "select" opens', async () => {
    const getPin = pinSource(token.userPin).getPin;
    const made = await openPkcs11Signer({ ...base, keyLabel: 'via-mode', mode: 'generate', getPin: () => getPin({ tokenLabel: '', keyLabel: '', purpose: 'sign', attempt: 1, previousError: null }) });
    const selected = await openPkcs11Signer({ ...base, keyLabel: 'via-mode', mode: 'select', getPin });
    assert.equal(selected.keyId, made.keyId);
    await assert.rejects(openPkcs11Signer({ ...base, keyLabel: 'via-mode', mode: 'generate', getPin }), (e: unknown) => e instanceof AppError && e.code === 'conflict');
  });

  test('after every operation, failed or not, the session is closed and the module finalized', async () => {
    const signer = await openPkcs11Signer({ ...base, getPin: pinSource(token.userPin).getPin });
    await signer.sign(Buffer.from('x'));
    const wrong = await openPkcs11Signer({ ...base, getPin: pinSource('111111').getPin });
    await assert.rejects(wrong.sign(Buffer.from('x')), /wrong PIN/);
    // If our code had left the library initialized, this C_Initialize (same process, same
    // library) would fail with CKR_CRYPTOKI_ALREADY_INITIALIZED. (Finalize also closes any
    // session; SoftHSM does not report session counts.)
    const lib = new pk.PKCS11();
    lib.load(token.modulePath);
    lib.C_Initialize();
    lib.C_Finalize();
    lib.close();
  });

  test('missing key, taken label, unknown token and a bad module give clear errors', async () => {
    const getPin = pinSource(token.userPin).getPin;
    await assert.rejects(openPkcs11Signer({ ...base, keyLabel: 'nope', getPin }), (e: unknown) => e instanceof AppError && e.code === 'not_found' && /no key labelled "nope"/.test(e.message));
    await assert.rejects(generatePkcs11Key({ ...base, getPin }), (e: unknown) => e instanceof AppError && e.code === 'conflict' && /already holds a key labelled "approver-key"/.test(e.message));
    await assert.rejects(openPkcs11Signer({ ...base, tokenLabel: 'yubikey', getPin }), (e: unknown) => e instanceof AppError && e.code === 'not_found' && /no PKCS#11 token labelled "yubikey".*"bg-test"/.test(e.message));
    await assert.rejects(openPkcs11Signer({ ...base, modulePath: '/nonexistent/libpkcs11.so', getPin }), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && /not on the allow-list/.test(e.message));
    await assert.rejects(openPkcs11Signer({ ...base, keyLabel: '', getPin }), (e: unknown) => e instanceof AppError && e.code === 'invalid_input');
  });

  test('a module outside the allow-list is refused before it is loaded; a main-process extra path and a symlink to a known module are allowed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-pkcs11-allow-'));
    try {
      const getPin = pinSource(token.userPin).getPin;
      // A real, loadable copy of SoftHSM2 in a temp dir: had it been loaded, opening the key would work.
      const copy = join(dir, 'libsofthsm2.so');
      await copyFile(token.modulePath, copy);
      await assert.rejects(openPkcs11Signer({ ...base, modulePath: copy, getPin }), (e: unknown) =>
        e instanceof AppError && e.code === 'invalid_input' && /not on the allow-list/.test(e.message) && /add its path/.test(e.message) &&
        e.fieldErrors?.[0]?.path === 'modulePath');
      // A symlink named like a known module but pointing at the copy is still refused (realpath).
      const disguised = join(dir, 'opensc-pkcs11.so');
      await symlink(copy, disguised);
      await assert.rejects(openPkcs11Signer({ ...base, modulePath: disguised, getPin }), (e: unknown) => e instanceof AppError && /not on the allow-list/.test(e.message));
      // A symlink to the system SoftHSM2 module resolves to an allowed path.
      const link = join(dir, 'hsm-link.so');
      await symlink(token.modulePath, link);
      const signer = await openPkcs11Signer({ ...base, modulePath: link, getPin });
      assert.equal(signer.keyLabel, base.keyLabel);
      // An extra path from main-process configuration is allowed: this one is then tried and is not a module.
      const junk = join(dir, 'libvendor-pkcs11.so');
      await writeFile(junk, 'not an ELF file');
      await assert.rejects(openPkcs11Signer({ ...base, modulePath: junk, allowedModulePaths: [junk], getPin }), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && /cannot load the PKCS#11 module/.test(e.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('with several tokens, a label is required; slot index selects one', async () => {
    await addSoftHsmToken(token, 'bg-second');
    const getPin = pinSource(token.userPin).getPin;
    const { tokenLabel: _drop, ...noLabel } = base;
    await assert.rejects(openPkcs11Signer({ ...noLabel, getPin }), (e: unknown) => e instanceof AppError && /several tokens.*"bg-test".*"bg-second"|several tokens.*"bg-second".*"bg-test"/.test(e.message));
    const second = await generatePkcs11Key({ ...base, tokenLabel: 'bg-second', getPin });
    const first = await openPkcs11Signer({ ...base, getPin });
    assert.notEqual(second.keyId, first.keyId);
    const keyIds = new Set<string>();
    for (const slot of [0, 1]) keyIds.add((await openPkcs11Signer({ ...noLabel, slot, getPin })).keyId);
    assert.deepEqual(keyIds, new Set([first.keyId, second.keyId]));
  });
});
