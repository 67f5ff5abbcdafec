import type { KeyAttestation, KeyAttestationInput } from '../../shared/domain/identity';
import type { AttestationRoot } from '../../shared/domain/policy';
import { enrolledSpki, refuse, spkiDer, verifyChainToRoot } from './attestation-chain';
import { verifyTpmAttestation } from './tpm-attestation';
import { verifyEkEnrollment, type TpmChallengeRecord } from './tpm-ek-attestation';

/**
 * Verifies that an approver key was generated on a hardware token, from the attestation the
 * token produced, against the roots the policy names (`attestation.roots`). What the store then
 * records is `attested: {kind, serial, policy}`; a key enrolled with `--hardware` alone is only
 * `claimed`.
 *
 * PIV (YubiKey): the chain is [key attestation certificate, device attestation certificate
 * (slot f9), ...intermediates], chaining to a `piv` root. Following Yubico's "PIV attestation"
 * documentation: the key's certificate is signed by the device certificate and carries the
 * attested public key, the device serial number (extension 1.3.6.1.4.1.41482.3.7, an INTEGER)
 * and the PIN and touch policies (1.3.6.1.4.1.41482.3.8, two bytes: PIN 1 never, 2 once per
 * session, 3 always; touch 1 never, 2 always, 3 cached for 15 s).
 */

export const PIV_SERIAL_OID = '1.3.6.1.4.1.41482.3.7';
export const PIV_POLICY_OID = '1.3.6.1.4.1.41482.3.8';
const PIN_POLICY: Record<number, string> = { 1: 'never', 2: 'once', 3: 'always' };
const TOUCH_POLICY: Record<number, string> = { 1: 'never', 2: 'always', 3: 'cached' };

interface Tlv {
  tag: number;
  start: number;
  valueStart: number;
  end: number;
}

/** One DER TLV at `offset` (definite lengths only, as DER requires). */
function tlv(der: Uint8Array, offset: number): Tlv {
  if (offset + 2 > der.length) throw new Error('truncated DER');
  const tag = der[offset]!;
  let len = der[offset + 1]!;
  let valueStart = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[valueStart + i]!;
    valueStart += n;
  }
  const end = valueStart + len;
  if (end > der.length) throw new Error('truncated DER');
  return { tag, start: offset, valueStart, end };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.valueStart; at < parent.end; ) {
    const child = tlv(der, at);
    out.push(child);
    at = child.end;
  }
  return out;
}

function oidText(bytes: Uint8Array): string {
  const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let value = 0;
  for (const b of bytes.subarray(1)) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** The certificate's extensions: OID → the extnValue's content octets. */
export function certificateExtensions(der: Uint8Array): Map<string, Uint8Array> {
  const cert = tlv(der, 0);
  const tbs = children(der, cert)[0]!;
  const out = new Map<string, Uint8Array>();
  const wrapper = children(der, tbs).find((c) => c.tag === 0xa3);
  if (!wrapper) return out;
  const list = children(der, wrapper)[0]!;
  for (const ext of children(der, list)) {
    const parts = children(der, ext);
    const oid = parts[0]!;
    const value = parts[parts.length - 1]!; // extnValue OCTET STRING (after an optional critical BOOLEAN)
    out.set(oidText(der.subarray(oid.valueStart, oid.end)), der.subarray(value.valueStart, value.end));
  }
  return out;
}

/** A DER INTEGER's value as decimal text (serial numbers may exceed 2^53). */
function derInteger(bytes: Uint8Array): string {
  const t = tlv(bytes, 0);
  if (t.tag !== 0x02) throw new Error('not an INTEGER');
  let value = 0n;
  for (const b of bytes.subarray(t.valueStart, t.end)) value = value * 256n + BigInt(b);
  return value.toString();
}

/**
 * Verify a PIV attestation for `publicKeyPem` against the policy's `piv` roots at `now`: every
 * certificate in its validity window, each signed by the next, the last by a root; the first
 * certifies exactly the enrolled public key and carries the serial and policy extensions.
 */
export function verifyPivAttestation(input: { certificates: readonly string[] }, publicKeyPem: string, roots: readonly AttestationRoot[], now: Date): KeyAttestation {
  const { chain, root } = verifyChainToRoot(input.certificates, 'piv', roots, now, 'the key attestation certificate');
  const leaf = chain[0]!;
  if (!spkiDer(leaf.publicKey).equals(enrolledSpki(publicKeyPem))) refuse('the attestation certifies another public key than the one being enrolled');
  let extensions: Map<string, Uint8Array>;
  try {
    extensions = certificateExtensions(leaf.raw);
  } catch (error) {
    refuse(`the key attestation certificate cannot be read (${(error as Error).message})`);
  }
  const serialExt = extensions.get(PIV_SERIAL_OID);
  const policyExt = extensions.get(PIV_POLICY_OID);
  if (!serialExt) refuse(`the key attestation certificate has no device serial (extension ${PIV_SERIAL_OID})`);
  if (!policyExt || policyExt.length < 2) refuse(`the key attestation certificate has no PIN/touch policy (extension ${PIV_POLICY_OID})`);
  let serial: string;
  try {
    serial = derInteger(serialExt);
  } catch (error) {
    refuse(`the device serial (extension ${PIV_SERIAL_OID}) is not an INTEGER (${(error as Error).message})`);
  }
  const pin = PIN_POLICY[policyExt[0]!];
  const touch = TOUCH_POLICY[policyExt[1]!];
  if (!pin || !touch) refuse(`unknown PIN/touch policy bytes ${policyExt[0]}/${policyExt[1]} (extension ${PIV_POLICY_OID})`);
  return { kind: 'piv', root: root.id, serial, policy: { pin, touch } };
}

/** Who and when an attestation is verified for: TPM certifications bind the principal and a time. */
export interface AttestationContext {
  principal: string;
  roots: readonly AttestationRoot[];
  now: Date;
  /** For `tpm-ek`: the challenge the attestation answers, as the store recorded it when it issued it. */
  challenge?: TpmChallengeRecord;
}

/** Verify an enrollment's attestation (dispatch by kind). */
export function verifyKeyAttestation(input: KeyAttestationInput, publicKeyPem: string, ctx: AttestationContext): KeyAttestation {
  switch (input.kind) {
    case 'piv':
      return verifyPivAttestation(input, publicKeyPem, ctx.roots, ctx.now);
    case 'tpm':
      return verifyTpmAttestation(input, publicKeyPem, ctx);
    case 'tpm-ek':
      if (!ctx.challenge) refuse(`unknown challenge ${input.challengeId}: this store never issued it`);
      return verifyEkEnrollment(input, publicKeyPem, ctx.challenge, ctx);
  }
}
