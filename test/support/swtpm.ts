// A real software TPM 2.0 (swtpm) for tests of TPM key attestation, started per test file on a
// unix socket in a temp dir and stopped (its process killed, the dir removed) by stop().
//
//   const tpm = await startSwtpm();
//   const key = await tpm.createKey();                      // an approver key, persistent
//   const ak = await tpm.createKey({ restricted: true });   // an attestation key
//   ... tpmEnrollmentAttestation({ tcti: tpm.tcti, keyHandle: key.handle, akHandle: ak.handle, ... })
//   await tpm.stop();                                       // in after()
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SOFTWARE_TPM_APT_LINE, missingSoftwareTpmCommands, startSoftwareTpm } from '../../shared/node/tpm/software-tpm';
import { createTpmKey, createTpmStoragePrimary, type CreatedTpmKey } from '../../shared/node/tpm/tpm-keys';

/** Fail (never skip) when the software TPM is not installed, with the exact install line. */
export function requireSwtpm(): void {
  const missing = [...missingSoftwareTpmCommands(), ...['swtpm_setup', 'swtpm_localca'].filter((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status !== 0)];
  if (missing.length) throw new Error(`the TPM attestation tests need a real software TPM; missing ${missing.join(', ')}. Install with:\n  ${SOFTWARE_TPM_APT_LINE}`);
}

export type TpmKey = CreatedTpmKey;

/**
 * The TPM's manufacturer, as `swtpm_setup --create-ek-cert` plays it: swtpm's local CA (a root
 * and an intermediate it makes in the test's directory) certified the EK, whose certificate is
 * in NV (RSA 0x01c00002) and whose key is persistent at 0x81010001.
 */
export interface SwtpmManufacturer {
  rootPem: string;
  intermediatePem: string;
}

export interface Swtpm {
  tcti: string;
  /** With `ekCertificate`: the local CA that issued the EK certificate. */
  manufacturer?: SwtpmManufacturer;
  /** An ECDSA P-256 key under the storage primary, persistent; `restricted` makes an AK, `attributes` overrides. */
  createKey(opts?: { restricted?: boolean; attributes?: string }): Promise<TpmKey>;
  stop(): Promise<void>;
}

const PRIMARY_HANDLE = 0x81000001;

/** Manufacture the TPM state in `dir`: EKs and an RSA EK certificate signed by a local CA under `dir`/ca. */
async function manufacture(dir: string): Promise<SwtpmManufacturer> {
  const ca = join(dir, 'ca');
  await mkdir(ca);
  await writeFile(join(dir, 'localca.conf'), `statedir = ${ca}\nsigningkey = ${ca}/signkey.pem\nissuercert = ${ca}/issuercert.pem\ncertserial = ${ca}/certserial\n`);
  await writeFile(join(dir, 'localca.options'), '--platform-manufacturer Breakglass\n--platform-version 2.1\n--platform-model test\n');
  await writeFile(join(dir, 'setup.conf'), `create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = ${dir}/localca.conf\ncreate_certs_tool_options = ${dir}/localca.options\nactive_pcr_banks = sha256\n`);
  await new Promise<void>((resolve, reject) =>
    execFile('swtpm_setup', ['--tpm2', '--tpmstate', dir, '--create-ek-cert', '--config', join(dir, 'setup.conf'), '--overwrite'], (error, _stdout, stderr) => (error ? reject(new Error(`swtpm_setup failed: ${stderr || error.message}`)) : resolve())),
  );
  return { rootPem: await readFile(join(ca, 'swtpm-localca-rootca-cert.pem'), 'utf8'), intermediatePem: await readFile(join(ca, 'issuercert.pem'), 'utf8') };
}

export async function startSwtpm(opts: { ekCertificate?: boolean } = {}): Promise<Swtpm> {
  requireSwtpm();
  const dir = await mkdtemp(join(tmpdir(), 'bg-swtpm-'));
  let manufacturer: SwtpmManufacturer | undefined;
  try {
    if (opts.ekCertificate) manufacturer = await manufacture(dir);
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
