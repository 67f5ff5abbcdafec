// A real software TPM 2.0 (swtpm) for tests of TPM key attestation, started per test file on a
// unix socket in a temp dir and stopped (its process killed, the dir removed) by stop().
//
//   const tpm = await startSwtpm();
//   const key = await tpm.createKey();                      // an approver key, persistent
//   const ak = await tpm.createKey({ restricted: true });   // an attestation key
//   ... tpmEnrollmentAttestation({ tcti: tpm.tcti, keyHandle: key.handle, akHandle: ak.handle, ... })
//   await tpm.stop();                                       // in after()
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SOFTWARE_TPM_APT_LINE, manufactureSoftwareTpm, missingSoftwareTpmManufactureCommands, startSoftwareTpm, type SoftwareTpmManufacturer } from '../../shared/node/tpm/software-tpm';
import { createTpmKey, createTpmStoragePrimary, type CreatedTpmKey } from '../../shared/node/tpm/tpm-keys';

/** Fail (never skip) when the software TPM is not installed, with the exact install line. */
export function requireSwtpm(): void {
  const missing = missingSoftwareTpmManufactureCommands();
  if (missing.length) throw new Error(`the TPM attestation tests need a real software TPM; missing ${missing.join(', ')}. Install with:\n  ${SOFTWARE_TPM_APT_LINE}`);
}

export type TpmKey = CreatedTpmKey;

export type SwtpmManufacturer = SoftwareTpmManufacturer;

export interface Swtpm {
  tcti: string;
  /** With `ekCertificate`: the local CA that issued the EK certificate. */
  manufacturer?: SwtpmManufacturer;
  /** An ECDSA P-256 key under the storage primary, persistent; `restricted` makes an AK, `attributes` overrides. */
  createKey(opts?: { restricted?: boolean; attributes?: string }): Promise<TpmKey>;
  stop(): Promise<void>;
}

const PRIMARY_HANDLE = 0x81000001;

export async function startSwtpm(opts: { ekCertificate?: boolean } = {}): Promise<Swtpm> {
  requireSwtpm();
  const dir = await mkdtemp(join(tmpdir(), 'bg-swtpm-'));
  let manufacturer: SwtpmManufacturer | undefined;
  try {
    if (opts.ekCertificate) manufacturer = await manufactureSoftwareTpm(dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const tpm = await startSoftwareTpm(dir);
  let nextHandle = PRIMARY_HANDLE + 1;
  try {
    await createTpmStoragePrimary(tpm.tcti, PRIMARY_HANDLE);
  } catch (error) {
    await tpm.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    tcti: tpm.tcti,
    manufacturer,
    createKey: (opts = {}) => createTpmKey({ tcti: tpm.tcti, parentHandle: PRIMARY_HANDLE, handle: nextHandle++, ...opts }),
    async stop() {
      await tpm.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
