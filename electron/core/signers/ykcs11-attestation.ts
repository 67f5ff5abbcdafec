import { X509Certificate, createPublicKey } from 'node:crypto';
import { basename } from 'node:path';
import { AppError } from '../../../shared/errors';
import type { PivAttestationRead } from '../../../shared/ipc/contract';
import type { ProfileKey } from '../session/profile-store';
import { findObjects, loadPkcs11js, readPublicKey, withSession } from './pkcs11-signer';
import { pinCancelled } from '../pin-prompt';
import { tokenAttestationText } from './token-attestation';

/**
 * The PIV attestation of a key on a YubiKey, read through Yubico's PKCS#11 module (ykcs11) the
 * way it lays the PIV card out as objects (yubico-piv-tool, ykcs11/objects.c):
 *
 * - every PIV key slot has a one-byte CKA_ID: 9a = 1, 9c = 2, 9d = 3, 9e = 4, the retired slots
 *   82..95 = 5..24, the attestation slot f9 = 25; a slot's key and certificate objects share it;
 * - for each key slot, a certificate object (CKO_CERTIFICATE, X.509) labelled
 *   "X.509 Certificate for PIV Attestation <slot>" (slot in lower-case hex, e.g. "... 9c") with
 *   the slot's CKA_ID: the key attestation certificate, which the YubiKey makes when it is read
 *   (only for keys it generated itself);
 * - the device's attestation certificate (slot f9): CKO_CERTIFICATE labelled
 *   "X.509 Certificate for PIV Attestation" with CKA_ID 25. (ykcs11 also has a CKO_DATA object of
 *   the same label: the class tells them apart.)
 *
 * The result is what `breakglass admin approver enroll --attestation KEY.pem F9.pem` reads
 * ({ kind: 'piv', certificates: [key attestation, f9] }); the store verifies the chain to a piv
 * root. Before handing it out, the console checks that the key attestation certificate is
 * signed by the f9 certificate and that it certifies this console's key.
 */

export const YKCS11_ATTESTATION_LABEL = 'X.509 Certificate for PIV Attestation';
/** CKA_ID of the f9 objects in ykcs11. */
export const YKCS11_F9_ID = 25;

/** ykcs11's CKA_ID of each PIV key slot (objects.c: the sub_id of the slot's objects). */
const SLOT_BY_ID: ReadonlyMap<number, string> = new Map([
  [1, '9a'],
  [2, '9c'],
  [3, '9d'],
  [4, '9e'],
  ...Array.from({ length: 20 }, (_, i) => [5 + i, (0x82 + i).toString(16)] as [number, string]),
]);

/** The PIV slot ykcs11 gives the CKA_ID `id` (one byte), or undefined for any other id. */
export function ykcs11SlotOfId(id: Buffer): string | undefined {
  return id.length === 1 ? SLOT_BY_ID.get(id[0]!) : undefined;
}

/** Whether `modulePath` is Yubico's PKCS#11 module (libykcs11.so, libykcs11.dylib, ykcs11.dll): the file name says so. */
export function isYkcs11ModulePath(modulePath: string): boolean {
  return basename(modulePath).toLowerCase().includes('ykcs11');
}

export interface PivAttestationReadOptions {
  /** Module paths allowed besides the well-known ones (main-process configuration). */
  allowedModulePaths: readonly string[];
  /** Which modules are ykcs11 (default isYkcs11ModulePath). */
  isYkcs11Module?: (modulePath: string) => boolean;
}

function pem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/**
 * Read the profile's key attestation from its token. `available: false` (with today's plain
 * sentence, and why) when the key is not on a ykcs11 token or the token shows no attestation for
 * its slot; AppError('conflict') when the attestation there does not certify this key.
 */
export async function readPivAttestation(principal: string, key: ProfileKey, options: PivAttestationReadOptions): Promise<PivAttestationRead> {
  const plain = tokenAttestationText(key);
  if (key.kind !== 'pkcs11' || !key.pkcs11) return { available: false, reason: plain };
  const ref = key.pkcs11;
  if (!(options.isYkcs11Module ?? isYkcs11ModulePath)(ref.modulePath)) return { available: false, reason: plain };
  const pk = await loadPkcs11js();
  const opts = {
    modulePath: ref.modulePath,
    tokenLabel: ref.tokenLabel,
    keyLabel: ref.keyLabel,
    allowedModulePaths: options.allowedModulePaths,
    getPin: () => Promise.reject(pinCancelled('reading certificates needs no PIN')),
  };
  const read = await withSession(pk, opts, false, async (s) => {
    const publicKey = readPublicKey(pk, s.lib, s.session, ref.keyLabel, s.tokenLabel);
    if (!publicKey) throw new AppError('not_found', `no key labelled "${ref.keyLabel}" on token "${s.tokenLabel}"`);
    const slot = ykcs11SlotOfId(publicKey.ckaId);
    if (!slot) return { missing: `the key "${ref.keyLabel}" has CKA_ID ${publicKey.ckaId.toString('hex') || '(empty)'}, which is no PIV key slot of ykcs11` };
    const certificate = (label: string, id: number): Buffer | undefined => {
      const found = findObjects(s.lib, s.session, [
        { type: pk.CKA_CLASS, value: pk.CKO_CERTIFICATE },
        { type: pk.CKA_LABEL, value: label },
        { type: pk.CKA_ID, value: Buffer.from([id]) },
      ]);
      if (found.length === 0) return undefined;
      return s.lib.C_GetAttributeValue(s.session, found[0]!, [{ type: pk.CKA_VALUE }])[0]!.value as Buffer;
    };
    const keyAttestation = certificate(`${YKCS11_ATTESTATION_LABEL} ${slot}`, publicKey.ckaId[0]!);
    if (!keyAttestation) return { missing: `token "${s.tokenLabel}" shows no attestation certificate for slot ${slot} (a YubiKey attests only keys it generated itself)`, slot };
    const device = certificate(YKCS11_ATTESTATION_LABEL, YKCS11_F9_ID);
    if (!device) return { missing: `token "${s.tokenLabel}" shows no device attestation certificate (slot f9)`, slot };
    return { slot, keyAttestation, device, tokenLabel: s.tokenLabel };
  });
  if ('missing' in read) return { available: false, reason: `${read.missing}: ${plain}` };

  const { slot, keyAttestation, device, tokenLabel } = read;
  let leaf: X509Certificate;
  let f9: X509Certificate;
  try {
    leaf = new X509Certificate(keyAttestation);
    f9 = new X509Certificate(device);
  } catch (error) {
    throw new AppError('invalid_input', `token "${tokenLabel}" gave an attestation certificate for slot ${slot} that cannot be read: ${(error as Error).message}`);
  }
  if (!leaf.verify(f9.publicKey)) {
    throw new AppError('conflict', `the attestation certificate for slot ${slot} on token "${tokenLabel}" is not signed by its device attestation certificate (f9, ${f9.subject.replace(/\n/g, ', ')}): not handed out`);
  }
  const attested = leaf.publicKey.export({ type: 'spki', format: 'der' });
  const ours = createPublicKey(key.publicKeyPem).export({ type: 'spki', format: 'der' });
  if (!attested.equals(ours)) {
    throw new AppError(
      'conflict',
      `the attestation certificate for slot ${slot} on token "${tokenLabel}" certifies another key, not this console's key ${key.keyId} ("${ref.keyLabel}"): the slot's key changed since setup, or the key label names another slot; not handed out`,
    );
  }
  const files: [string, string] = [`${principal}-${slot}-attest.pem`, `${principal}-f9.pem`];
  return {
    available: true,
    slot,
    attestation: { kind: 'piv', certificates: [pem(keyAttestation), pem(device)] },
    files,
    enrollCommand: `breakglass admin approver enroll --principal ${principal} --public-key ${principal}.pub.pem --attestation ${files[0]} ${files[1]}`,
  };
}
