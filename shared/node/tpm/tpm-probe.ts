import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../errors';
import { missingSoftwareTpmCommands } from './software-tpm';
import { runTpmTool } from './tpm-certify';
import { handleText } from './tpm-keys';

/**
 * Is a TPM 2.0 reachable from here, and what does it hold? The answer the console's "TPM 2.0
 * (this machine)" choice rests on: tpm2-tools installed, the TCTI's device present and openable,
 * the TPM answering, a storage parent and an attestation key among its persistent objects. Each
 * "no" is one sentence naming what is missing, so the choice can say the true reason.
 */

/** How tpm2-tools reach the TPM when nothing says otherwise: the kernel's resource manager. */
export const DEFAULT_TPM_TCTI = 'device:/dev/tpmrm0';
/** The usual persistent handle of the owner hierarchy's storage root key (TCG provisioning guidance). */
export const DEFAULT_TPM_PARENT_HANDLE = 0x81000001;
/** Where new approver keys go when no handle is given: the first free persistent handle from here. */
export const FIRST_APPROVER_KEY_HANDLE = 0x81000100;
const LAST_PERSISTENT_HANDLE = 0x817fffff;

/** The TCTI tpm2-tools use: $TPM2TOOLS_TCTI, else the kernel resource manager (as `keygen --tpm`). */
export function defaultTpmTcti(env: NodeJS.ProcessEnv): string {
  return env.TPM2TOOLS_TCTI || DEFAULT_TPM_TCTI;
}

/** What a persistent object is, from its attributes: an attestation key, an approver-style signing key, a storage parent, or other. */
export type TpmObjectRole = 'attestation' | 'signing' | 'storage' | 'other';

export interface TpmPersistentObject {
  handle: string;
  role: TpmObjectRole;
  /** tpm2-tools' attribute list, e.g. `fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign`. */
  attributes: string;
}

export type TpmProbe =
  | { available: false; tcti: string; reason: string }
  | { available: true; tcti: string; manufacturer: string | null; firmwareVersion: string | null; objects: TpmPersistentObject[] };

/** The lines of a tpm2-tools failure that say what went wrong (its own `ERROR: …` lines), else the last line. */
export function tpmToolFailure(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const own = text.split('\n').filter((l) => l.startsWith('ERROR: ')).map((l) => l.slice('ERROR: '.length).trim());
  return own.length ? own.join('; ') : (text.trim().split('\n').pop() ?? text);
}

/** The role an object's attribute list gives it. */
export function tpmObjectRole(attributes: string): TpmObjectRole {
  const a = new Set(attributes.split('|'));
  if (a.has('restricted') && a.has('sign') && !a.has('decrypt')) return 'attestation';
  if (a.has('restricted') && a.has('decrypt')) return 'storage';
  if (a.has('sign') && !a.has('decrypt')) return 'signing';
  return 'other';
}

function yamlValue(text: string, key: string): string | null {
  const block = new RegExp(`^${key}:\\n((?: {2}.*\\n?)+)`, 'm').exec(text)?.[1];
  if (!block) return null;
  return /^ {2}value: "?([^"\n]*)"?$/m.exec(block)?.[1] ?? /^ {2}raw: (\S+)$/m.exec(block)?.[1] ?? null;
}

/** `tpm2_readpublic`'s attribute list for a persistent handle. */
async function objectAttributes(tcti: string, handle: string): Promise<string> {
  const out = (await runTpmTool('tpm2_readpublic', ['-c', handle], tcti)).toString();
  return /^attributes:\n {2}value: (\S+)$/m.exec(out)?.[1] ?? '';
}

/**
 * Probe the TPM `tcti` names. `parentHandle` must be a storage key and at least one attestation
 * key must be persistent for a key to be made and certified there.
 */
export async function probeTpm(tcti: string, parentHandle = DEFAULT_TPM_PARENT_HANDLE): Promise<TpmProbe> {
  const no = (reason: string): TpmProbe => ({ available: false, tcti, reason });
  const missing = missingSoftwareTpmCommands().filter((c) => c !== 'swtpm');
  if (missing.length) return no(`tpm2-tools is not installed (missing ${missing.join(', ')}): sudo apt-get install -y tpm2-tools`);
  if (tcti.startsWith('device:') || tcti === 'device') {
    const path = tcti.slice('device:'.length) || '/dev/tpmrm0';
    try {
      await stat(path);
    } catch {
      return no(`no TPM on this machine: ${path} does not exist`);
    }
    try {
      await access(path, constants.R_OK | constants.W_OK);
    } catch {
      return no(`${path} exists but ${userInfo().username} may not open it (on most systems: add yourself to the tss group, then sign in again)`);
    }
  }
  let fixed: string;
  try {
    fixed = (await runTpmTool('tpm2_getcap', ['properties-fixed'], tcti)).toString();
  } catch (error) {
    return no(`the TPM (${tcti}) did not answer: ${tpmToolFailure(error)}`);
  }
  const handles = (await runTpmTool('tpm2_getcap', ['handles-persistent'], tcti)).toString().match(/0x[0-9a-f]{8}/gi) ?? [];
  const objects: TpmPersistentObject[] = [];
  for (const handle of handles) {
    const attributes = await objectAttributes(tcti, handle);
    objects.push({ handle: handle.toLowerCase(), role: tpmObjectRole(attributes), attributes });
  }
  const parent = handleText(parentHandle);
  if (!objects.some((o) => o.handle === parent && o.role === 'storage')) {
    return no(`the TPM (${tcti}) has no storage root key at ${parent}: provision one (tpm2_createprimary -C o -c srk.ctx && tpm2_evictcontrol -C o -c srk.ctx ${parent})`);
  }
  if (!objects.some((o) => o.role === 'attestation')) {
    return no(`the TPM (${tcti}) holds no attestation key: your attestation CA provisions one (a restricted signing key, persistent) and issues its certificate`);
  }
  const firmware = [yamlValue(fixed, 'TPM2_PT_FIRMWARE_VERSION_1'), yamlValue(fixed, 'TPM2_PT_FIRMWARE_VERSION_2')].filter(Boolean).join('.');
  return { available: true, tcti, manufacturer: yamlValue(fixed, 'TPM2_PT_MANUFACTURER'), firmwareVersion: firmware || null, objects };
}

/** The first persistent handle from FIRST_APPROVER_KEY_HANDLE that `objects` do not use. */
export function freeApproverKeyHandle(objects: readonly Pick<TpmPersistentObject, 'handle'>[]): number {
  const used = new Set(objects.map((o) => o.handle));
  for (let h = FIRST_APPROVER_KEY_HANDLE; h <= LAST_PERSISTENT_HANDLE; h++) if (!used.has(handleText(h))) return h;
  throw new AppError('unavailable', 'the TPM has no free persistent handle');
}

/**
 * The public area (TPM2B_PUBLIC) and PEM public key of the persistent key at `handle`, refused
 * unless it is a key an approver may sign with: an unrestricted signing key made in this TPM
 * (fixedTPM, fixedParent, sensitiveDataOrigin).
 */
export async function readTpmSigningKey(tcti: string, handle: number): Promise<{ publicArea: Uint8Array; publicKeyPem: string }> {
  const h = handleText(handle);
  let attributes: string;
  try {
    attributes = await objectAttributes(tcti, h);
  } catch (error) {
    throw new AppError('not_found', `no key at ${h} in the TPM (${tcti}): ${tpmToolFailure(error)}`);
  }
  const a = new Set(attributes.split('|'));
  const lacking = ['fixedtpm', 'fixedparent', 'sensitivedataorigin', 'sign'].filter((x) => !a.has(x));
  if (tpmObjectRole(attributes) !== 'signing' || lacking.length) {
    throw new AppError('invalid_input', `the object at ${h} is not an approver signing key (attributes ${attributes}${lacking.length ? `; lacks ${lacking.join(', ')}` : ''})`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'bg-tpm-read-'));
  try {
    await runTpmTool('tpm2_readpublic', ['-c', h, '-o', 'key.pub', '-Q'], tcti, undefined, dir);
    await runTpmTool('tpm2_readpublic', ['-c', h, '-f', 'pem', '-o', 'key.pem', '-Q'], tcti, undefined, dir);
    return { publicArea: new Uint8Array(await readFile(join(dir, 'key.pub'))), publicKeyPem: await readFile(join(dir, 'key.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The PEM public key of the persistent object at `handle` (an attestation key, say). */
export async function readTpmPublicKeyPem(tcti: string, handle: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-tpm-read-'));
  try {
    await runTpmTool('tpm2_readpublic', ['-c', handleText(handle), '-f', 'pem', '-o', 'key.pem', '-Q'], tcti, undefined, dir);
    return await readFile(join(dir, 'key.pem'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
