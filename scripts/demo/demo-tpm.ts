import 'reflect-metadata';
import { createPublicKey, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { TpmAttestationInput } from '../../shared/domain/identity';
import { missingSoftwareTpmCommands, startSoftwareTpm, type SoftwareTpm } from '../../shared/node/tpm/software-tpm';
import { createAttestedTpmKey } from '../../shared/node/tpm/tpm-enrollment';
import { createTpmKey, createTpmStoragePrimary } from '../../shared/node/tpm/tpm-keys';

/**
 * The demo's approver keys live in a software TPM (swtpm) where one is installed, so the demo
 * meets the same rule as the example policy: a critical-tier approval needs an attested hardware
 * key. What a real organisation has, the demo makes for itself once, under <demo dir>/tpm:
 * - the TPM state (swtpm's), with a storage primary and an attestation key (AK);
 * - a demo attestation CA (its root goes into the demo policy's attestation.roots as a `tpm`
 *   root) that certified the AK, as an enterprise attestation CA does after checking a TPM;
 * - per approver, a key made in the TPM and its TPM2_Certify, enrolled as attested.
 * The swtpm process runs while `npm start` runs; the walkthrough's `--key keys/bob.tpm.json`
 * signs inside it.
 */

x509.cryptoProvider.set(webcrypto as never);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
const CA_VALIDITY_DAYS = 3650;
const PRIMARY_HANDLE = 0x81000001;
const AK_HANDLE = 0x81010001;
/** Approver keys at 0x81000100, 0x81000101, … in DEMO_PRINCIPALS order. */
const FIRST_KEY_HANDLE = 0x81000100;
export const DEMO_TPM_ROOT_ID = 'demo-swtpm-ca';

/** Why the demo cannot use a software TPM here (the missing commands), or null when it can. */
export function demoTpmUnavailable(): string | null {
  const missing = missingSoftwareTpmCommands();
  return missing.length ? `no software TPM here (missing ${missing.join(', ')})` : null;
}

export interface DemoTpm {
  tpm: SoftwareTpm;
  /** PEM of the demo attestation CA (a `tpm` root of the demo policy). */
  rootPem: string;
  /** Make an approver key in the TPM and its enrollment certification; `index` picks its handle. */
  approverKey(principal: string, index: number): Promise<{ keyFile: string; attestation: TpmAttestationInput; publicKeyPem: string }>;
}

/** Start the demo's software TPM in `dir`; the first time, provision it (primary, AK, demo CA). */
export async function startDemoTpm(dir: string): Promise<DemoTpm> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const provisioned = existsSync(join(dir, 'ak.pem'));
  const tpm = await startSoftwareTpm(dir);
  try {
    if (!provisioned) await provision(dir, tpm.tcti);
    const rootPem = await readFile(join(dir, 'demo-attestation-ca.pem'), 'utf8');
    const akCertificates = [await readFile(join(dir, 'ak.pem'), 'utf8')];
    return {
      tpm,
      rootPem,
      async approverKey(principal, index) {
        const { key, attestation } = await createAttestedTpmKey({ tcti: tpm.tcti, parentHandle: PRIMARY_HANDLE, handle: FIRST_KEY_HANDLE + index, akHandle: AK_HANDLE, akCertificates, principal, now: new Date() });
        return { keyFile: `${JSON.stringify(key, null, 2)}\n`, attestation, publicKeyPem: key.publicKeyPem };
      },
    };
  } catch (error) {
    await tpm.stop();
    throw error;
  }
}

async function provision(dir: string, tcti: string): Promise<void> {
  await createTpmStoragePrimary(tcti, PRIMARY_HANDLE);
  const ak = await createTpmKey({ tcti, parentHandle: PRIMARY_HANDLE, handle: AK_HANDLE, restricted: true });
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - DAY);
  const notAfter = new Date(Date.now() + CA_VALIDITY_DAYS * DAY);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Breakglass demo TPM attestation CA',
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const akSpki = createPublicKey(ak.publicKeyPem).export({ type: 'spki', format: 'der' });
  const akCert = await x509.X509CertificateGenerator.create({
    serialNumber: '0de0a1',
    subject: 'CN=Breakglass demo swtpm attestation key',
    issuer: root.subject,
    notBefore,
    notAfter,
    publicKey: await webcrypto.subtle.importKey('spki', akSpki, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']),
    signingKey: keys.privateKey,
    signingAlgorithm: ALG,
    // tcg-kp-AIKCertificate: what the store requires of an attestation key certificate.
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.ExtendedKeyUsageExtension(['2.23.133.8.3'], false)],
  });
  await writeFile(join(dir, 'demo-attestation-ca.pem'), root.toString('pem') + '\n', { mode: 0o644 });
  // Written last: its presence says the TPM is provisioned.
  await writeFile(join(dir, 'ak.pem'), akCert.toString('pem') + '\n', { mode: 0o644 });
}

/** The demo policy with the demo attestation CA added to its attestation.roots (as a `tpm` root). */
export function withDemoTpmRoot(policyYaml: string, rootPem: string): string {
  const certificate = rootPem.trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
  const entry = `    - id: ${DEMO_TPM_ROOT_ID} # npm start demo: the CA that certified the demo swtpm's attestation key\n      kind: tpm\n      certificate: |\n${certificate}\n`;
  if (/^attestation:\n {2}roots:\n/m.test(policyYaml)) return policyYaml.replace(/^attestation:\n {2}roots:\n/m, (head) => head + entry);
  return `${policyYaml.trimEnd()}\nattestation:\n  roots:\n${entry}`;
}
