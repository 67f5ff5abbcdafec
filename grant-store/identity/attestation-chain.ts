import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import type { AttestationRoot } from '../../shared/domain/policy';
import { AppError } from '../../shared/errors';

/**
 * What every attestation kind checks the same way: a certificate chain from the token's
 * attestation certificate up to a root of the policy, each certificate in its validity window.
 */

/** Why an attestation is refused: a 400 naming `attestation`. */
export function refuse(message: string): never {
  throw new AppError('invalid_input', `attestation: ${message}`, { fieldErrors: [{ path: 'attestation', message }] });
}

export function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    refuse(`${what} is not a certificate (${(error as Error).message})`);
  }
}

export function spkiDer(key: KeyObject | string): Buffer {
  return (typeof key === 'string' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
}

/** The enrolled public key's SPKI DER; a 400 when it cannot be read. */
export function enrolledSpki(publicKeyPem: string): Buffer {
  try {
    return spkiDer(publicKeyPem);
  } catch (error) {
    refuse(`the enrolled public key cannot be read (${(error as Error).message})`);
  }
}

/**
 * Verify `pems` (leaf first) at `now`: every certificate in its validity window, each signed by
 * the next, the last by one of the policy's roots of `kind`. Returns the parsed chain and the
 * root it ended at.
 */
export function verifyChainToRoot(pems: readonly string[], kind: AttestationRoot['kind'], roots: readonly AttestationRoot[], now: Date, leafName: string): { chain: X509Certificate[]; root: AttestationRoot } {
  const ofKind = roots.filter((r) => r.kind === kind);
  if (ofKind.length === 0) refuse(`the policy names no ${kind} root (attestation.roots) to verify a ${kind.toUpperCase()} attestation against`);
  const chain = pems.map((pem, i) => parseCertificate(pem, i === 0 ? leafName : `certificate ${i + 1}`));
  for (const [i, cert] of chain.entries()) {
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) refuse(`certificate ${i + 1} (${cert.subject.replace(/\n/g, ', ')}) is not valid at ${now.toISOString()} (valid ${cert.validFrom} to ${cert.validTo})`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.verify(chain[i + 1]!.publicKey)) refuse(`certificate ${i + 1} is not signed by certificate ${i + 2}: the chain is broken`);
  }
  const top = chain[chain.length - 1]!;
  const root = ofKind.find((r) => {
    const cert = new X509Certificate(r.certificate);
    return top.verify(cert.publicKey) && now >= new Date(cert.validFrom) && now <= new Date(cert.validTo);
  });
  if (!root) refuse(`the chain does not end at a ${kind} root the policy names (${ofKind.map((r) => r.id).join(', ')}): untrusted chain`);
  return { chain, root };
}
