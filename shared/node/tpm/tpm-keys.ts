import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../errors';
import { keyIdFromPublicKeyPem } from '../signing/key-id';
import type { DecisionSigner } from '../signing/signer';
import { runTpmTool } from './tpm-certify';

/**
 * Approver keys that live in a TPM, driven through tpm2-tools: created under a storage parent
 * as fixedTPM | fixedParent | sensitiveDataOrigin ECDSA P-256 signing keys with an empty auth
 * value, made persistent, and used by reference: a small JSON key file says which TPM (TCTI)
 * and which persistent handle, so `--key bob.tpm.json` signs inside the TPM and nothing secret is
 * ever on disk.
 *
 * tpm2-tools commands each open their own connection; without a resource manager (a socket to
 * swtpm) the objects a command loads stay loaded, so every command is followed by a flush of
 * transient objects (the keys themselves are persistent).
 */

/** The attributes of an approver key: generated in this TPM, never exportable, a signing key. */
export const TPM_APPROVER_KEY_ATTRIBUTES = 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign';
/** An attestation key: the same, restricted (it signs only what the TPM generated, like TPMS_ATTEST). */
export const TPM_ATTESTATION_KEY_ATTRIBUTES = `${TPM_APPROVER_KEY_ATTRIBUTES}|restricted`;

const HandleSchema = z.string().regex(/^0x81[0-9a-f]{6}$/i, { message: 'must be a persistent handle, 0x81xxxxxx' });

export const TpmKeyFileSchema = z.strictObject({
  kind: z.literal('breakglass-tpm-key'),
  /** TCTI configuration tpm2-tools reach the TPM with (device:/dev/tpmrm0, swtpm:path=…). */
  tcti: z.string().min(1),
  handle: HandleSchema,
  publicKeyPem: z.string().includes('BEGIN PUBLIC KEY'),
});
export type TpmKeyFile = z.infer<typeof TpmKeyFileSchema>;

export function handleText(handle: number): string {
  return `0x${handle.toString(16).padStart(8, '0')}`;
}

/** Run a tpm2-tools command in `cwd`, then flush what it left loaded. */
export async function tpmTool(tcti: string, tool: string, args: string[], cwd?: string): Promise<Buffer> {
  try {
    return await runTpmTool(tool, args, tcti, undefined, cwd);
  } finally {
    // Flushing when nothing is loaded is fine; a real failure already surfaced above.
    await runTpmTool('tpm2_flushcontext', ['-t'], tcti).catch(() => undefined);
  }
}

export interface CreatedTpmKey {
  handle: number;
  /** TPM2B_PUBLIC, as the TPM returned it (the certified name is computed over it). */
  publicArea: Uint8Array;
  publicKeyPem: string;
}

/**
 * Create an ECDSA P-256 signing key under `parentHandle` and make it persistent at `handle`.
 * `restricted` makes an attestation key (null symmetric scheme, as TPM 2.0 requires of one).
 */
export async function createTpmKey(opts: { tcti: string; parentHandle: number; handle: number; restricted?: boolean; attributes?: string }): Promise<CreatedTpmKey> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-tpm-key-'));
  try {
    const parent = handleText(opts.parentHandle);
    const attributes = opts.attributes ?? (opts.restricted ? TPM_ATTESTATION_KEY_ATTRIBUTES : TPM_APPROVER_KEY_ATTRIBUTES);
    await tpmTool(opts.tcti, 'tpm2_create', ['-C', parent, '-G', opts.restricted ? 'ecc256:ecdsa-sha256:null' : 'ecc256:ecdsa-sha256', '-a', attributes, '-u', 'key.pub', '-r', 'key.priv', '-Q'], dir);
    await tpmTool(opts.tcti, 'tpm2_load', ['-C', parent, '-u', 'key.pub', '-r', 'key.priv', '-c', 'key.ctx', '-Q'], dir);
    await tpmTool(opts.tcti, 'tpm2_evictcontrol', ['-C', 'o', '-c', 'key.ctx', handleText(opts.handle), '-Q'], dir);
    await tpmTool(opts.tcti, 'tpm2_readpublic', ['-c', handleText(opts.handle), '-f', 'pem', '-o', 'key.pem', '-Q'], dir);
    return { handle: opts.handle, publicArea: new Uint8Array(await readFile(join(dir, 'key.pub'))), publicKeyPem: await readFile(join(dir, 'key.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Create the owner hierarchy's ECC storage primary and make it persistent at `handle`. */
export async function createTpmStoragePrimary(tcti: string, handle: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-tpm-primary-'));
  try {
    await tpmTool(tcti, 'tpm2_createprimary', ['-C', 'o', '-g', 'sha256', '-G', 'ecc', '-c', 'primary.ctx', '-Q'], dir);
    await tpmTool(tcti, 'tpm2_evictcontrol', ['-C', 'o', '-c', 'primary.ctx', handleText(handle), '-Q'], dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}


/** A decision signer for a TPM key file: ECDSA P-256 / SHA-256 inside the TPM (tpm2_sign), DER out. */
export function tpmKeySigner(key: TpmKeyFile): DecisionSigner {
  return {
    keyId: keyIdFromPublicKeyPem(key.publicKeyPem),
    publicKeyPem: key.publicKeyPem,
    hardwareBacked: true,
    async sign(data) {
      const dir = await mkdtemp(join(tmpdir(), 'bg-tpm-sign-'));
      try {
        await writeFile(join(dir, 'message'), data);
        await tpmTool(key.tcti, 'tpm2_sign', ['-c', key.handle, '-g', 'sha256', '-s', 'ecdsa', '-f', 'plain', '-o', 'signature', 'message'], dir);
        return new Uint8Array(await readFile(join(dir, 'signature')));
      } catch (error) {
        throw new AppError('unavailable', `cannot sign with the TPM key ${key.handle} (${key.tcti}): ${(error as Error).message}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Parse a TPM key file's text; null when it is not one (a PEM key file, say). */
export function parseTpmKeyFile(text: string, path: string): TpmKeyFile | null {
  if (!text.trimStart().startsWith('{')) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AppError('invalid_input', `${path} is neither a PEM private key nor a TPM key file (JSON: ${(error as Error).message})`);
  }
  const parsed = TpmKeyFileSchema.safeParse(json);
  if (!parsed.success) throw new AppError('invalid_input', `${path} is not a TPM key file: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** What `breakglass keygen --tpm` writes next to each other (`<out>.tpm.json`, `.pub.pem`, `.tpm-attestation.json`). */
export interface TpmKeyFiles {
  keyFilePath: string;
  publicKeyPath: string;
  attestationPath: string;
  keyId: string;
}

/** Write a TPM key's three files; never overwrites (an existing file is a conflict and nothing is written). */
export async function writeTpmKeyFiles(out: string, key: TpmKeyFile, attestation: unknown): Promise<TpmKeyFiles> {
  const base = out.replace(/\.(pem|json)$/, '');
  const files = { keyFilePath: `${base}.tpm.json`, publicKeyPath: `${base}.pub.pem`, attestationPath: `${base}.tpm-attestation.json` };
  for (const path of Object.values(files)) {
    if (await readFile(path).then(() => true, () => false)) throw new AppError('conflict', `${path} already exists: refusing to overwrite a key file (remove it or choose another --out)`);
  }
  await writeFile(files.keyFilePath, `${JSON.stringify(key, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  await writeFile(files.publicKeyPath, key.publicKeyPem, { flag: 'wx', mode: 0o644 });
  await writeFile(files.attestationPath, `${JSON.stringify(attestation, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
  return { ...files, keyId: keyIdFromPublicKeyPem(key.publicKeyPem) };
}
