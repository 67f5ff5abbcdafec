import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import type { Cosigner } from '../../shared/ledger/cosignature';
import { checkKeyName, formatVerifierKey } from '../../shared/ledger/verifier-key';
import { readTextIfExists, writeFileDurably } from '../../shared/node/ledger/durable-file';
import { ed25519Cosigner } from '../../shared/node/ledger/node-crypto';

/**
 * A witness identity kept in a directory: `witness-key.pem` (Ed25519 PKCS#8, mode 0600) and
 * `witness-name` (its note key name). Used by the CLI (which cosigns what `ledger verify`
 * verified) and by `breakglass witness serve`; the console keeps its key in the OS keychain.
 */
export const WITNESS_KEY_FILE = 'witness-key.pem';
export const WITNESS_NAME_FILE = 'witness-name';

export interface WitnessIdentity {
  cosigner: Cosigner;
  /** The C2SP vkey to put in a policy's `witnesses:` (name+keyid+base64(0x04 ‖ key)). */
  vkey: string;
  created: boolean;
}

/** A key name from parts that may contain spaces or "+": each becomes "-". */
export function witnessNameFrom(...parts: string[]): string {
  return parts.map((p) => p.replace(/[\s+]+/gu, '-').replace(/[^\x21-\x7e]/gu, '-') || 'unknown').join('/');
}

/** Load the identity in `dir`, creating it (with `name`) when absent; `name` renames nothing that exists. */
export async function loadOrCreateWitnessKey(dir: string, name: string): Promise<WitnessIdentity> {
  const keyPath = join(dir, WITNESS_KEY_FILE);
  const namePath = join(dir, WITNESS_NAME_FILE);
  let pem = await readTextIfExists(keyPath);
  let storedName = (await readTextIfExists(namePath))?.trim();
  let created = false;
  if (!pem) {
    checkKeyName(name);
    pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await writeFileDurably(namePath, `${name}\n`, 0o644);
    await writeFileDurably(keyPath, pem, 0o600);
    storedName = name;
    created = true;
  }
  if (!storedName) throw new AppError('invalid_input', `${namePath} is missing: the witness key in ${dir} has no name`);
  const cosigner = ed25519Cosigner(storedName, pem);
  return { cosigner, vkey: formatVerifierKey(cosigner.key), created };
}

/** Load an existing identity; a clear error when there is none. */
export async function loadWitnessKey(dir: string): Promise<WitnessIdentity> {
  if (!(await readTextIfExists(join(dir, WITNESS_KEY_FILE)))) {
    throw new AppError('invalid_input', `no witness key in ${dir}: run \`breakglass witness init --name <name>\` first`);
  }
  return loadOrCreateWitnessKey(dir, 'unused');
}
