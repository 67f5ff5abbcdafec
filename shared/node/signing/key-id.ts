import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { AppError } from '../../errors';

/**
 * Key id = lowercase hex SHA-256 of the DER SubjectPublicKeyInfo. Derived from the key itself
 * (not a label), so the same key has the same id in the store, the CLI and the console.
 */
export function keyIdFromPublicKeyPem(pem: string): string {
  return keyIdFromPublicKey(parsePublicKeyPem(pem));
}

export function keyIdFromPublicKey(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Parse an SPKI PEM or throw AppError('invalid_input') saying so. */
export function parsePublicKeyPem(pem: string): KeyObject {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new AppError('invalid_input', 'not a PEM public key: expected "-----BEGIN PUBLIC KEY-----"');
  }
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new AppError('invalid_input', `not a valid PEM public key: ${(error as Error).message}`);
  }
}
