import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TpmChallenge, TpmChallengeInput, TpmEkAttestationInput } from '../../shared/domain/identity';
import { manufactureSoftwareTpm, missingSoftwareTpmManufactureCommands, startSoftwareTpm, type SoftwareTpm } from '../../shared/node/tpm/software-tpm';
import { createEkAttestedTpmKey } from '../../shared/node/tpm/tpm-enrollment';
import { createTpmKey, createTpmStoragePrimary } from '../../shared/node/tpm/tpm-keys';
import { EK_RSA_PERSISTENT_HANDLE } from '../../shared/tpm/tpm-credential';

/**
 * The demo's approver keys live in a software TPM (swtpm) where one is installed, so the demo
 * meets the same rule as the example policy: a critical-tier approval needs an attested hardware
 * key. What a real TPM has from its factory, the demo makes for itself once, under <demo dir>/tpm:
 * - the TPM state, manufactured by swtpm_setup --create-ek-cert: an RSA endorsement key whose
 *   certificate (NV 0x01c00002) swtpm's local CA issued. That CA plays the TPM manufacturer: its
 *   root goes into the demo policy's attestation.roots as a `tpm-ek` root;
 * - a storage primary and an attestation key (AK);
 * - per approver, a key made in the TPM, its TPM2_Certify by the AK, and the store's
 *   credential-activation challenge answered by the TPM (the AK proven resident in the TPM the
 *   EK certificate names), enrolled as attested.
 * The swtpm process runs while `npm start` runs; the walkthrough's `--key keys/bob.tpm.json`
 * signs inside it.
 *
 * A demo dir provisioned before the EK flow (an AK certificate from a demo CA, `ak.pem`) keeps
 * working: its keys are enrolled already, so it only needs its TPM started.
 */

const PRIMARY_HANDLE = 0x81000001;
/** Not 0x81010001: swtpm_setup puts the RSA EK there, as TCG's provisioning guidance says. */
const AK_HANDLE = 0x81000002;
/** Approver keys at 0x81000100, 0x81000101, … in DEMO_PRINCIPALS order. */
const FIRST_KEY_HANDLE = 0x81000100;
export const DEMO_TPM_ROOT_ID = 'demo-swtpm-manufacturer';
/** Written last when the TPM is provisioned (the manufacturer's root, for the policy). */
const PROVISIONED_MARKER = 'ek-manufacturer-root.pem';
/** What a demo dir provisioned before the EK flow has instead. */
const LEGACY_MARKER = 'ak.pem';

/** Why the demo cannot use a software TPM here (the missing commands), or null when it can. */
export function demoTpmUnavailable(): string | null {
  const missing = missingSoftwareTpmManufactureCommands();
  return missing.length ? `no software TPM here (missing ${missing.join(', ')})` : null;
}

/** Whether `dir` holds a provisioned demo TPM (either way). */
export function demoTpmProvisioned(dir: string): boolean {
  return existsSync(join(dir, PROVISIONED_MARKER)) || existsSync(join(dir, LEGACY_MARKER));
}

export interface DemoTpm {
  tpm: SoftwareTpm;
  /** PEM of the demo TPM's manufacturer root (a `tpm-ek` root of the demo policy). */
  rootPem: string;
  /** Make an approver key in the TPM, certify it, and answer the store's challenge (`challenge` asks the store for it). */
  approverKey(principal: string, index: number, challenge: (input: TpmChallengeInput) => Promise<TpmChallenge>): Promise<{ keyFile: string; attestation: TpmEkAttestationInput; publicKeyPem: string }>;
}

/** Start the demo's software TPM in `dir`; the first time, manufacture and provision it. */
export async function startDemoTpm(dir: string): Promise<DemoTpm> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const provisioned = demoTpmProvisioned(dir);
  const manufacturer = provisioned ? undefined : await manufactureSoftwareTpm(dir);
  const tpm = await startSoftwareTpm(dir);
  try {
    if (manufacturer) {
      await createTpmStoragePrimary(tpm.tcti, PRIMARY_HANDLE);
      await createTpmKey({ tcti: tpm.tcti, parentHandle: PRIMARY_HANDLE, handle: AK_HANDLE, restricted: true });
      await writeFile(join(dir, 'ek-intermediate.pem'), manufacturer.intermediatePem, { mode: 0o644 });
      await writeFile(join(dir, PROVISIONED_MARKER), manufacturer.rootPem, { mode: 0o644 });
    }
    const legacy = !existsSync(join(dir, PROVISIONED_MARKER));
    const rootPem = legacy ? '' : await readFile(join(dir, PROVISIONED_MARKER), 'utf8');
    const ekIntermediates = legacy ? [] : [await readFile(join(dir, 'ek-intermediate.pem'), 'utf8')];
    return {
      tpm,
      rootPem,
      async approverKey(principal, index, challenge) {
        if (legacy) throw new Error(`${dir} was provisioned before the endorsement-key flow: remove the demo dir and run npm start again`);
        const { key, attestation } = await createEkAttestedTpmKey({ tcti: tpm.tcti, parentHandle: PRIMARY_HANDLE, handle: FIRST_KEY_HANDLE + index, akHandle: AK_HANDLE, ekHandle: EK_RSA_PERSISTENT_HANDLE, ekIntermediates, principal, now: new Date(), challenge });
        return { keyFile: `${JSON.stringify(key, null, 2)}\n`, attestation, publicKeyPem: key.publicKeyPem };
      },
    };
  } catch (error) {
    await tpm.stop();
    throw error;
  }
}

/** The demo policy with the demo TPM's manufacturer root added to its attestation.roots (as a `tpm-ek` root). */
export function withDemoTpmRoot(policyYaml: string, rootPem: string): string {
  const certificate = rootPem.trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
  const entry = `    - id: ${DEMO_TPM_ROOT_ID} # npm start demo: swtpm's local CA, which issued the demo TPM's endorsement key certificate\n      kind: tpm-ek\n      certificate: |\n${certificate}\n`;
  if (/^attestation:\n {2}roots:\n/m.test(policyYaml)) return policyYaml.replace(/^attestation:\n {2}roots:\n/m, (head) => head + entry);
  return `${policyYaml.trimEnd()}\nattestation:\n  roots:\n${entry}`;
}
