import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { treeHasher, type Sha256, type TreeHasher } from '../../ledger/tree-hasher';
import { ed25519NoteKeyHint, type NoteSigner, type NoteVerifier } from '../../ledger/signed-note';

/** node:crypto SHA-256 for the pure ledger code. */
export const nodeSha256: Sha256 = (data) => new Uint8Array(createHash('sha256').update(data).digest());

export const nodeTreeHasher: TreeHasher = treeHasher(nodeSha256);

/** The 32 raw bytes of an Ed25519 public key (the signed-note key material). */
export function rawEd25519PublicKey(key: KeyObject | string): Uint8Array {
  const keyObject = typeof key === 'string' ? createPublicKey(key) : key;
  if (keyObject.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${keyObject.asymmetricKeyType}`);
  const jwk = keyObject.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
}

/** A note signer for an Ed25519 private key (PKCS#8 PEM), named `name` (the checkpoint origin). */
export function ed25519NoteSigner(name: string, privateKeyPem: string): NoteSigner & { publicKeyPem: string; rawPublicKey: Uint8Array } {
  const privateKey = createPrivateKey(privateKeyPem);
  const publicKey = createPublicKey(privateKey);
  const rawPublicKey = rawEd25519PublicKey(publicKey);
  return {
    name,
    keyHint: ed25519NoteKeyHint(name, rawPublicKey, nodeSha256),
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    rawPublicKey,
  };
}

/** A note verifier for an Ed25519 public key (SPKI PEM). */
export function ed25519NoteVerifier(name: string, publicKeyPem: string): NoteVerifier {
  const publicKey = createPublicKey(publicKeyPem);
  const rawPublicKey = rawEd25519PublicKey(publicKey);
  return {
    name,
    keyHint: ed25519NoteKeyHint(name, rawPublicKey, nodeSha256),
    verify: (message, signature) => {
      try {
        return verify(null, message, publicKey, signature);
      } catch {
        return false;
      }
    },
  };
}
