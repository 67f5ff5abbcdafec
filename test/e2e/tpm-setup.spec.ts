import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { pino } from 'pino';
import { startConsoleBrowserHost, type RunningConsoleBrowserHost } from '../../electron/browser-host/start';
import { handleText } from '../../shared/node/tpm/tpm-keys';
import { memoryKeychain } from '../integration/electron/core/memory-keychain';
import { startSwtpm, type Swtpm } from '../support/swtpm';
import { createTpmCa } from '../support/tpm-attestation-ca';
import { SCREENSHOT_DIR, nav, stack, storeCall } from './support/helpers';

// The setup screen's "TPM 2.0 (this machine)" choice, against consoles of its own (the stack's
// console keeps its own TPM, whatever this machine has): one whose TPM is a real software TPM
// (swtpm, started here, with an attestation key certified by a test CA), one whose TPM device does
// not exist. Real console core behind a real browser host, real grant store (the stack's).

test.describe.configure({ mode: 'serial' });

let tpm: Swtpm;
let ekTpm: Swtpm;
let akHandle: string;
let akPem: string;
const hosts: { host: RunningConsoleBrowserHost; dir: string }[] = [];

async function startHost(tcti: string): Promise<RunningConsoleBrowserHost> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-e2e-tpm-console-'));
  const host = await startConsoleBrowserHost({ dataDir: dir, port: 0, tpm: { tcti }, openVault: memoryKeychain().openVault, logger: pino({ level: 'silent' }), storeUrl: stack().storeUrl });
  hosts.push({ host, dir });
  return host;
}

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const viewport of [
    { width: 1440, height: 900 },
    { width: 1024, height: 700 },
  ]) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${viewport.width}x${viewport.height}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

test.beforeAll(async () => {
  tpm = await startSwtpm();
  const ca = await createTpmCa(new Date());
  const ak = await tpm.createKey({ restricted: true });
  akHandle = handleText(ak.handle);
  akPem = await ca.issueAk(ak.publicKeyPem, { serial: 'e2e7a1' });
  ekTpm = await startSwtpm({ ekCertificate: true });
  await ekTpm.createKey({ restricted: true });
});

test.afterAll(async () => {
  for (const { host, dir } of hosts) {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  }
  await tpm?.stop();
  await ekTpm?.stop();
});

test('no TPM reachable: the choice is disabled and says why', async ({ page }) => {
  const host = await startHost('device:/dev/bg-e2e-no-tpm');
  await page.goto(host.openUrl);
  const choice = page.getByRole('radio', { name: 'TPM key' });
  await expect(choice).toBeDisabled();
  await expect(page.getByLabel('TPM availability')).toHaveText('Not available: no TPM on this machine: /dev/bg-e2e-no-tpm does not exist.');
  await expect(page.getByRole('radio', { name: 'software key' })).toBeChecked();
  await shoot(page, 'setup-tpm-unavailable');
});

test('a TPM reachable: the key is made in it and certified; the screen shows what to hand the admin', async ({ page }) => {
  const host = await startHost(tpm.tcti);
  await page.goto(host.openUrl);
  await expect(page.getByLabel('TPM availability')).toHaveText("Key made and kept in this machine's TPM (IBM), certified by its attestation key with your attestation CA's certificate (the weaker route: this TPM has no endorsement key certificate (NV index 0x01c00002 is not defined)): can be enrolled as attested.");
  await page.getByRole('radio', { name: 'TPM key' }).check();
  await expect(page.getByLabel('Attestation key', { exact: true })).toHaveValue(akHandle);
  // No EK certificate in this TPM: the stronger route is greyed out with the reason, the weaker one chosen.
  await expect(page.getByRole('radio', { name: 'Endorsement key' })).toBeDisabled();
  await expect(page.getByLabel('Endorsement key availability')).toHaveText('Not available: this TPM has no endorsement key certificate (NV index 0x01c00002 is not defined).');
  await expect(page.getByRole('radio', { name: 'Attestation key certificate' })).toBeChecked();
  await page.getByLabel('API token').fill(stack().tokens.carol!);
  await shoot(page, 'setup-tpm-choice');

  // A certificate for another key is refused at the field; nothing is made.
  await page.getByLabel('Attestation key certificate (PEM)').fill('-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n');
  await page.getByRole('button', { name: 'Connect and create key' }).click();
  await expect(page.locator('.field', { has: page.getByLabel('Attestation key certificate (PEM)') }).locator('.error')).toHaveText(/the first certificate cannot be read/);

  await page.getByLabel('Attestation key certificate (PEM)').fill(akPem);
  await page.getByRole('button', { name: 'Connect and create key' }).click();
  const enrollment = page.getByRole('region', { name: 'public key for enrollment' });
  await expect(enrollment.getByLabel('TPM key, not attested by the store yet')).toBeVisible();
  await expect(enrollment.getByLabel('certification validity')).toHaveText(/^The store accepts it until .* UTC \(made by the attestation key 0x81000002, anchored in its AK certificate; key at 0x81000100\)\.$/);
  await expect(enrollment.getByText('breakglass admin approver enroll --principal carol --public-key carol.pub.pem --tpm-attestation carol.tpm-attestation.json')).toBeVisible();
  // What the screen shows is what the admin's CLI reads: the TPM's certification of this very key.
  const certification = JSON.parse(await enrollment.getByLabel('TPM certification JSON').innerText()) as { kind: string; certificates: string[] };
  expect(certification.kind).toBe('tpm');
  expect(certification.certificates).toEqual([akPem]);
  const session = await storeCall<{ principal: string }>('GET', '/v1/whoami', stack().tokens.carol!);
  expect(session.principal).toBe('carol');
  await shoot(page, 'setup-tpm-enrollment');

  await enrollment.getByRole('button', { name: 'Certify again' }).click();
  await expect(enrollment.getByLabel('TPM certification JSON')).not.toHaveText(JSON.stringify(certification, null, 2));

  // Settings: the key's TPM, its certification until an admin enrolls it, and the TPM choice in "Add hardware key".
  await enrollment.getByRole('button', { name: 'Open the console' }).click();
  await nav(page, 'Settings');
  const identity = page.getByRole('region', { name: 'identity and keys' });
  await expect(identity.getByLabel('TPM key', { exact: true })).toHaveText(new RegExp(`key 0x81000100 · attestation key ${akHandle}`));
  await expect(identity.getByLabel('TPM certification JSON')).toBeVisible();
  const add = page.getByRole('region', { name: 'add hardware key' });
  await add.getByRole('button', { name: 'Change key…' }).click();
  await add.getByRole('radio', { name: 'TPM key' }).check();
  await add.getByText('Use a key already in the TPM').click();
  await expect(add.getByLabel('Key', { exact: true })).toHaveValue('0x81000100');
  await shoot(page, 'settings-tpm-key');
});

test('a TPM with an EK certificate: the endorsement key is offered first and chosen, the AK certificate is the weaker fallback; the store\'s refusal of the challenge is shown', async ({ page }) => {
  const host = await startHost(ekTpm.tcti);
  await page.goto(host.openUrl);
  await expect(page.getByLabel('TPM availability')).toHaveText("Key made and kept in this machine's TPM (IBM), anchored in its endorsement key (EK certificate from CN=swtpm-localca): can be enrolled as attested.");
  await page.getByRole('radio', { name: 'TPM key' }).check();
  await expect(page.getByRole('radio', { name: 'Endorsement key' })).toBeChecked();
  await expect(page.getByLabel('Endorsement key availability')).toHaveText(/^The store checks the EK certificate from CN=swtpm-localca and proves the attestation key is in this TPM/);
  await expect(page.getByLabel('Attestation key certificate (PEM)')).toHaveCount(0);
  await expect(page.getByLabel('EK certificate intermediates (PEM, if your TPM vendor uses any)')).toBeVisible();
  await page.getByLabel('API token').fill(stack().tokens.carol!);
  await shoot(page, 'setup-tpm-ek-choice');

  await page.getByRole('radio', { name: 'Attestation key certificate' }).check();
  await expect(page.getByLabel('Attestation key certificate (PEM)')).toBeVisible();
  await expect(page.getByLabel('EK certificate intermediates (PEM, if your TPM vendor uses any)')).toHaveCount(0);
  await page.getByRole('radio', { name: 'Endorsement key' }).check();

  // The e2e store's policy names no tpm-ek root for this TPM's manufacturer (swtpm's local CA, made
  // for this run): the store refuses carol's challenge, and the screen says so.
  await page.getByRole('button', { name: 'Connect and create key' }).click();
  await expect(page.getByText(/tpm-ek/).first()).toBeVisible();
  await expect(page.getByRole('region', { name: 'public key for enrollment' })).toHaveCount(0);
  await shoot(page, 'setup-tpm-ek-refused');
});
