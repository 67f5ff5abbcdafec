import { createHash, createHmac, createPrivateKey, createPublicKey, createSecretKey, hash, hkdfSync, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { treeHasher, type Sha256, type TreeHasher } from '../../ledger/tree-hasher';
import { ed25519NoteKeyHint, ed25519VerifierKeyString, type NoteSigner, type NoteVerifier } from '../../ledger/signed-note';
import type { Cosigner, Ed25519Verify } from '../../ledger/cosignature';
import { ENTRY_BINDING_KEY_INFO, ENTRY_BINDING_SIZE, LEGACY_ENTRY_BINDING_SIZE, entryBindingStatement, legacyEntryBindingMessage, type EntryBinder, type EntryBindingVersion } from '../../ledger/entry-binding';
import { verifierKey } from '../../ledger/verifier-key';

/** node:crypto SHA-256 for the pure ledger code. */
export const nodeSha256: Sha256 = (data) => new Uint8Array(createHash('sha256').update(data).digest());

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);
const asBytes = (digest: Buffer): Uint8Array => new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
/**
 * 0x01 ‖ left ‖ right, rewritten for every node: crypto.hash is synchronous, so one buffer per
 * thread serves every call.
 */
const nodeInput = Buffer.alloc(65, 0x01);

/**
 * SHA-256 with the one-shot crypto.hash, its digest asked for as a "binary" (Latin-1) string (one char per
 * byte) and copied into a 32-byte array. Asked for as a Buffer, every digest gets an ArrayBuffer
 * of its own outside the heap, which costs more than a node's hashing: 0.7 vs 0.36 us a node,
 * 1.0 vs 0.74 us a 600-byte leaf (this 2-core machine); a 32-byte Uint8Array lives on the heap.
 */
export function sha256OneShot(data: Uint8Array | string): Uint8Array {
  const digest = hash('sha256', data, 'binary');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = digest.charCodeAt(i);
  return out;
}

/**
 * node:crypto's tree hasher. Nodes and entry texts go through the one-shot crypto.hash, which
 * costs half of a createHash/update/digest round (measured on this 2-core machine: 0.9 vs 2.2 us
 * a node, 1.2 vs 2.6 us a 500-byte entry; less again with sha256OneShot); an entry's leaf is the
 * hash of "\0" + its text, whose UTF-8 is 0x00 followed by the text's UTF-8 (lone surrogates
 * become U+FFFD either way).
 */
export const nodeTreeHasher: TreeHasher = {
  ...treeHasher(nodeSha256),
  leaf: (data) => asBytes(createHash('sha256').update(LEAF_PREFIX).update(data).digest()),
  node: (left, right) => {
    // Only 32-byte children fit the buffer (a malformed proof hash may be any length).
    if (left.length !== 32 || right.length !== 32) return asBytes(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
    nodeInput.set(left, 1);
    nodeInput.set(right, 33);
    return sha256OneShot(nodeInput);
  },
  leafOfText: (text) => sha256OneShot(`\0${text}`),
};

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

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 raw key bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const publicKeyCache = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 256;

function ed25519KeyObject(raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw).toString('base64');
  let key = publicKeyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    if (publicKeyCache.size >= MAX_CACHED_KEYS) publicKeyCache.clear();
    publicKeyCache.set(id, key);
  }
  return key;
}

/** node:crypto Ed25519 verification of a raw 32-byte public key, for the pure cosignature code. */
export const nodeEd25519Verify: Ed25519Verify = (rawPublicKey, message, signature) => {
  if (rawPublicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, ed25519KeyObject(rawPublicKey), signature);
  } catch {
    return false;
  }
};

/** A cosignature/v1 witness key named `name` from an Ed25519 private key (PKCS#8 PEM). */
export function ed25519Cosigner(name: string, privateKeyPem: string): Cosigner {
  const privateKey = createPrivateKey(privateKeyPem);
  const raw = rawEd25519PublicKey(createPublicKey(privateKey));
  return { key: verifierKey(name, 'cosignature/v1', raw, nodeSha256), sign: (message) => new Uint8Array(sign(null, message, privateKey)) };
}

/**
 * The entry binder of a log (shared/ledger/entry-binding.ts) from its log key (PKCS#8 PEM):
 * binds with HMAC-SHA256 under a key derived from the private seed (v2; `write: 'v1'`: Ed25519
 * signatures, for a rolling upgrade), and accepts bindings of both versions. Comparisons are
 * constant-time.
 */
export function logKeyEntryBinder(origin: string, privateKeyPem: string, write: EntryBindingVersion = 'v2'): EntryBinder {
  const privateKey = createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the log key is ${privateKey.asymmetricKeyType}, not Ed25519`);
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const macKey = createSecretKey(Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), ENTRY_BINDING_KEY_INFO, 32)));
  seed.fill(0);
  const publicKey = createPublicKey(privateKey);
  const mac = (seq: number, leafHash: Uint8Array): Buffer => createHmac('sha256', macKey).update(entryBindingStatement(origin, seq, leafHash), 'utf8').digest();
  return {
    origin,
    bind: write === 'v1' ? (seq, leafHash) => new Uint8Array(sign(null, legacyEntryBindingMessage(origin, seq, leafHash), privateKey)) : (seq, leafHash) => new Uint8Array(mac(seq, leafHash)),
    verify: (seq, leafHash, binding) => {
      try {
        if (binding?.length === ENTRY_BINDING_SIZE) return timingSafeEqual(mac(seq, leafHash), binding);
        if (binding?.length === LEGACY_ENTRY_BINDING_SIZE) return verify(null, legacyEntryBindingMessage(origin, seq, leafHash), publicKey, binding);
        return false;
      } catch {
        return false;
      }
    },
  };
}

/** The C2SP vkey (type 0x01) of an Ed25519 log key given as an SPKI PEM, named `origin`. */
export function ed25519VerifierKeyFromPem(origin: string, publicKeyPem: string): string {
  return ed25519VerifierKeyString(origin, rawEd25519PublicKey(publicKeyPem), nodeSha256);
}
