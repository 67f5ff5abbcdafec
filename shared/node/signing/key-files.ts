import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../errors';
import { parseTpmKeyFile, tpmKeySigner } from '../tpm/tpm-keys';
import { keyIdFromPublicKeyPem } from './key-id';
import type { DecisionSigner } from './signer';
import { fileKeySigner, generateSoftwareKeyPair, parseP256PrivateKeyPem } from './software-signer';

/** File names used when `writeKeyPairFiles` is given a directory. */
export const DEFAULT_PRIVATE_KEY_FILE = 'breakglass-signing-key.pem';
export const DEFAULT_PUBLIC_KEY_FILE = 'breakglass-signing-key.pub.pem';
/** Owner read/write only: the private key. */
const PRIVATE_KEY_MODE = 0o600;
/** World-readable: the public key is handed to an admin for enrollment. */
const PUBLIC_KEY_MODE = 0o644;
const KEY_DIR_MODE = 0o700;
/** A PEM private key is a few hundred bytes; refuse to slurp anything much larger. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface WrittenKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  publicKeyPem: string;
  keyId: string;
}

/**
 * Generate a P-256 key pair and write it for `breakglass keygen`. `target` is either a
 * directory (existing, or ending in "/"): files DEFAULT_PRIVATE_KEY_FILE / DEFAULT_PUBLIC_KEY_FILE
 * inside it; or the private key's path: the public key goes next to it as `<name>.pub.pem`
 * (`x.pem` → `x.pub.pem`, `x` → `x.pub.pem`). Private key mode 0600, public key 0644.
 * Never overwrites: an existing file is AppError('conflict') and nothing is written.
 */
export async function writeKeyPairFiles(target: string): Promise<WrittenKeyPair> {
  if (!target) throw new AppError('invalid_input', 'a key file or directory path is required');
  const isDir = target.endsWith('/') || (await existingPath(target))?.isDirectory() === true;
  let privateKeyPath: string;
  let publicKeyPath: string;
  if (isDir) {
    await mkdir(target, { recursive: true, mode: KEY_DIR_MODE });
    privateKeyPath = join(target, DEFAULT_PRIVATE_KEY_FILE);
    publicKeyPath = join(target, DEFAULT_PUBLIC_KEY_FILE);
  } else {
    privateKeyPath = target;
    publicKeyPath = `${target.replace(/\.pem$/, '')}.pub.pem`;
  }
  for (const path of [privateKeyPath, publicKeyPath]) {
    if (await existingPath(path)) {
      throw new AppError('conflict', `${path} already exists: refusing to overwrite a key file (remove it or choose another path)`);
    }
  }
  const { privateKeyPem, publicKeyPem } = generateSoftwareKeyPair();
  try {
    // 'wx' fails if the file appeared meanwhile; chmod again because the umask may strip bits.
    await writeFile(privateKeyPath, privateKeyPem, { flag: 'wx', mode: PRIVATE_KEY_MODE });
    await chmod(privateKeyPath, PRIVATE_KEY_MODE);
    try {
      await writeFile(publicKeyPath, publicKeyPem, { flag: 'wx', mode: PUBLIC_KEY_MODE });
      await chmod(publicKeyPath, PUBLIC_KEY_MODE);
    } catch (error) {
      // Half a pair is worse than none: a private key nobody knows the public half of.
      await rm(privateKeyPath, { force: true });
      throw error;
    }
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EEXIST') throw new AppError('conflict', `${e.path ?? 'a key file'} already exists: refusing to overwrite a key file`);
    if (e.code === 'ENOENT') throw new AppError('invalid_input', `cannot write ${e.path ?? target}: the directory does not exist`);
    if (e.code === 'EACCES' || e.code === 'EPERM') throw new AppError('invalid_input', `cannot write ${e.path ?? target}: permission denied`);
    throw error;
  }
  return { privateKeyPath, publicKeyPath, publicKeyPem, keyId: keyIdFromPublicKeyPem(publicKeyPem) };
}

/**
 * What is at `path`, or undefined when nothing is (the path or a directory on it does not exist).
 * A path that cannot be checked (permissions) is an error naming it: keygen must not guess.
 */
async function existingPath(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new AppError('invalid_input', `cannot check ${path}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message}`);
  }
}

/**
 * Read a PEM ECDSA P-256 private key file (for `--key FILE`). Throws AppError('invalid_input')
 * naming the file and the problem: missing, unreadable, a directory, not a PEM private key,
 * wrong key type or curve.
 */
export async function readPrivateKeyFile(path: string): Promise<string> {
  const text = await readKeyFileText(path);
  try {
    parseP256PrivateKeyPem(text);
  } catch (error) {
    if (error instanceof AppError) throw new AppError('invalid_input', `${path}: ${error.message}`);
    throw error;
  }
  return text;
}

async function readKeyFileText(path: string): Promise<string> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new AppError('invalid_input', `${path} is a directory, not a private key file`);
    if (info.size > MAX_KEY_FILE_BYTES) throw new AppError('invalid_input', `${path} is too large to be a PEM private key`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('invalid_input', `private key file not found: ${path} (create one with \`breakglass keygen\`)`);
    if (code === 'EACCES' || code === 'EPERM') throw new AppError('invalid_input', `cannot read private key file ${path}: permission denied`);
    throw new AppError('invalid_input', `cannot read private key file ${path}: ${(error as Error).message}`);
  }
  return text;
}

/**
 * The signer scripted approvers use with `--key FILE`: a PEM private key file, or a TPM key file
 * (`breakglass keygen --tpm`: which TPM and handle; the key never leaves the TPM).
 */
export async function loadFileKeySigner(path: string): Promise<DecisionSigner> {
  const text = await readKeyFileText(path);
  const tpmKey = parseTpmKeyFile(text, path);
  if (tpmKey) return tpmKeySigner(tpmKey);
  return fileKeySigner(await readPrivateKeyFile(path));
}
