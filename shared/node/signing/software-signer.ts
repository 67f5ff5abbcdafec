import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { AppError } from '../../errors';
import { keyIdFromPublicKey } from './key-id';
import type { DecisionSigner } from './signer';

/** OpenSSL's name for NIST P-256 (what asymmetricKeyDetails.namedCurve reports). */
const P256_OPENSSL_NAME = 'prime256v1';

/** A fresh ECDSA P-256 key pair: PKCS#8 PEM private key, SPKI PEM public key. */
export function generateSoftwareKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: P256_OPENSSL_NAME });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Parse a PEM private key and require ECDSA P-256. Throws AppError('invalid_input') naming the
 * problem (not PEM, not a private key, wrong key type or curve).
 */
export function parseP256PrivateKeyPem(privateKeyPem: string): KeyObject {
  if (typeof privateKeyPem !== 'string' || !/-----BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----/.test(privateKeyPem)) {
    throw new AppError('invalid_input', 'not a PEM private key: expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN EC PRIVATE KEY-----"');
  }
  if (privateKeyPem.includes('BEGIN ENCRYPTED PRIVATE KEY')) {
    throw new AppError('invalid_input', 'encrypted private keys are not supported: keep the key in the OS keychain or on a hardware token instead');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateKeyPem, format: 'pem' });
  } catch (error) {
    throw new AppError('invalid_input', `not a valid PEM private key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec') {
    throw new AppError('invalid_input', `wrong key type ${key.asymmetricKeyType ?? 'unknown'}: decision keys are ECDSA P-256`);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== P256_OPENSSL_NAME) {
    throw new AppError('invalid_input', `wrong curve ${curve ?? 'unknown'}: decision keys are ECDSA P-256 (prime256v1)`);
  }
  return key;
}

/** A DecisionSigner over a software P-256 private key held in memory. */
export function fileKeySigner(privateKeyPem: string): DecisionSigner {
  const privateKey = parseP256PrivateKeyPem(privateKeyPem);
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdFromPublicKey(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    hardwareBacked: false,
    // Node's default ECDSA output encoding is DER, which is what the contract asks for.
    sign: async (data) => new Uint8Array(sign('sha256', data, privateKey)),
  };
}
