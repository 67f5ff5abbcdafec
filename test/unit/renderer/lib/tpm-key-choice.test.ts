import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../../../shared/errors';
import { mainContract, type TpmStatus } from '../../../../shared/ipc/contract';
import { EMPTY_TPM_KEY, tpmChoiceText, tpmKeyChoice } from '../../../../renderer/lib/tpm-key-choice';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const available: TpmStatus = { available: true, reason: null, tcti: 'device:/dev/tpmrm0', manufacturer: 'IFX', firmwareVersion: '0x7.0x55', attestationKeys: ['0x81010002'], signingKeys: [], nextHandle: '0x81000100' };
const unavailable: TpmStatus = { available: false, reason: 'no TPM on this machine: /dev/tpmrm0 does not exist', tcti: 'device:/dev/tpmrm0', manufacturer: null, firmwareVersion: null, attestationKeys: [], signingKeys: [], nextHandle: null };

describe('the "TPM 2.0 (this machine)" key choice', () => {
  test('enabled only where the TPM can make and certify a key; otherwise it says the reason main found', () => {
    assert.deepEqual(tpmChoiceText(unavailable, null), { enabled: false, text: 'Not available: no TPM on this machine: /dev/tpmrm0 does not exist.' });
    assert.deepEqual(tpmChoiceText(undefined, null), { enabled: false, text: 'Checking for a TPM…' });
    assert.match(tpmChoiceText(undefined, new AppError('internal', 'boom')).text, /^Not available: the console could not check the TPM \(boom\)\.$/);
    const ok = tpmChoiceText(available, null);
    assert.equal(ok.enabled, true);
    assert.match(ok.text, /^Key made and kept in this machine's TPM \(IFX\), certified by its attestation key/);
  });

  test('the choice it sends passes the contract; an unset attestation key is the TPM\'s only one; select needs a key', () => {
    const choice = tpmKeyChoice({ ...EMPTY_TPM_KEY, akCertificates: PEM }, available);
    assert.deepEqual(choice, { kind: 'tpm', mode: 'generate', akHandle: '0x81010002', akCertificates: PEM });
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
  });
});
