import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../../../shared/errors';
import { mainContract, type TpmStatus } from '../../../../shared/ipc/contract';
import { EMPTY_TPM_KEY, tpmChoiceText, tpmKeyChoice } from '../../../../renderer/lib/tpm-key-choice';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const available: TpmStatus = { available: true, reason: null, tcti: 'device:/dev/tpmrm0', manufacturer: 'IFX', firmwareVersion: '0x7.0x55', attestationKeys: ['0x81010002'], signingKeys: [], nextHandle: '0x81000100', ek: { available: false, reason: 'this TPM has no endorsement key certificate (NV index 0x01c00002 is not defined)', handle: '0x81010001', issuer: null } };
const withEk: TpmStatus = { ...available, ek: { available: true, reason: null, handle: '0x81010001', issuer: 'CN=Infineon OPTIGA(TM) RSA Manufacturing CA 003' } };
const unavailable: TpmStatus = { available: false, reason: 'no TPM on this machine: /dev/tpmrm0 does not exist', tcti: 'device:/dev/tpmrm0', manufacturer: null, firmwareVersion: null, attestationKeys: [], signingKeys: [], nextHandle: null, ek: { available: false, reason: null, handle: '0x81010001', issuer: null } };

describe('the "TPM 2.0 (this machine)" key choice', () => {
  test('enabled only where the TPM can make and certify a key; otherwise it says the reason main found', () => {
    assert.deepEqual(tpmChoiceText(unavailable, null), { enabled: false, text: 'Not available: no TPM on this machine: /dev/tpmrm0 does not exist.' });
    assert.deepEqual(tpmChoiceText(undefined, null), { enabled: false, text: 'Checking for a TPM…' });
    assert.match(tpmChoiceText(undefined, new AppError('internal', 'boom')).text, /^Not available: the console could not check the TPM \(boom\)\.$/);
    const ok = tpmChoiceText(available, null);
    assert.equal(ok.enabled, true);
    assert.equal(ok.text, "Key made and kept in this machine's TPM (IFX), certified by its attestation key with your attestation CA's certificate (the weaker route: this TPM has no endorsement key certificate (NV index 0x01c00002 is not defined)): can be enrolled as attested.");
    assert.equal(tpmChoiceText(withEk, null).text, "Key made and kept in this machine's TPM (IFX), anchored in its endorsement key (EK certificate from CN=Infineon OPTIGA(TM) RSA Manufacturing CA 003): can be enrolled as attested.");
  });

  test('the endorsement key is the anchor sent where the TPM has an EK certificate, the AK certificate otherwise or when chosen; the contract holds each to its own fields', () => {
    const input = mainContract['console:main:change-key'].input;
    const ek = tpmKeyChoice(EMPTY_TPM_KEY, withEk);
    assert.deepEqual(ek, { kind: 'tpm', mode: 'generate', akHandle: '0x81010002', anchor: 'ek', ekIntermediates: '' });
    assert.deepEqual(input.parse({ key: ek }).key, { ...ek, ekIntermediates: [] });
    assert.deepEqual(input.parse({ key: { ...ek, ekIntermediates: `${PEM}${PEM}` } }).key, { ...ek, ekIntermediates: [PEM, PEM] });
    const paths = (key: unknown) => {
      const r = input.safeParse({ key });
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    assert.deepEqual(paths({ ...ek, ekIntermediates: 'not a certificate' }), ['key.ekIntermediates']);
    assert.deepEqual(paths({ ...ek, akCertificates: PEM }), ['key.akCertificates'], 'the EK vouches for the AK: no AK certificate with it');
    assert.deepEqual(paths({ kind: 'tpm', mode: 'generate', akHandle: '0x81010002', anchor: 'ak-certificate' }), ['key.akCertificates']);
    assert.deepEqual(paths({ kind: 'tpm', mode: 'generate', akHandle: '0x81010002', akCertificates: PEM }), ['key.anchor'], 'the anchor is always said');
    const weaker = tpmKeyChoice({ ...EMPTY_TPM_KEY, anchor: 'ak-certificate', akCertificates: PEM, ekIntermediates: PEM }, withEk);
    assert.deepEqual(weaker, { kind: 'tpm', mode: 'generate', akHandle: '0x81010002', anchor: 'ak-certificate', akCertificates: PEM });
  });

  test('the choice it sends passes the contract; an unset attestation key is the TPM\'s only one; select needs a key', () => {
    const choice = tpmKeyChoice({ ...EMPTY_TPM_KEY, akCertificates: PEM }, available);
    assert.deepEqual(choice, { kind: 'tpm', mode: 'generate', akHandle: '0x81010002', anchor: 'ak-certificate', akCertificates: PEM });
    const input = mainContract['console:main:change-key'].input;
    assert.deepEqual(input.parse({ key: choice }).key, { ...choice, akCertificates: [PEM] });
    const noKey = input.safeParse({ key: tpmKeyChoice({ ...EMPTY_TPM_KEY, mode: 'select', akCertificates: PEM }, available) });
    assert.deepEqual(noKey.success ? [] : noKey.error.issues.map((i) => i.path.join('.')), ['key.handle']);
    const badHandle = input.safeParse({ key: { ...choice, akHandle: '0x01000002' } });
    assert.deepEqual(badHandle.success ? [] : badHandle.error.issues.map((i) => i.path.join('.')), ['key.akHandle']);
    assert.equal(input.safeParse({ key: { ...choice, tcti: 'device:/tmp/evil.so' } }).success, false, 'the renderer cannot name a TPM');
  });

  test('the status output is checked too: a handle that is not persistent, or a missing reason field, is refused', () => {
    const output = mainContract['console:main:get-tpm-status'].output;
    assert.deepEqual(output.parse(available), available);
    assert.equal(output.safeParse({ ...available, attestationKeys: ['0x80000001'] }).success, false);
    const { reason: _reason, ...noReason } = unavailable;
    assert.equal(output.safeParse(noReason).success, false);
    assert.deepEqual(output.parse(withEk), withEk);
    const { ek: _ek, ...noEk } = available;
    assert.equal(output.safeParse(noEk).success, false, 'the EK route is always said, available or why not');
  });
});
