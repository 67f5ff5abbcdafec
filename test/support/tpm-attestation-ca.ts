import 'reflect-metadata';
import { createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * The attestation CA a TPM test trusts: a root that issues attestation key (AK) certificates, as
 * an enterprise attestation CA does after checking a TPM's endorsement key, marked with the TCG
 * EKU tcg-kp-AIKCertificate (2.23.133.8.3), not a CA themselves.
 */

x509.cryptoProvider.set(webcrypto as never);
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TpmCa {
  rootPem: string;
  /** Issue an AK certificate (PEM) for `akPublicKeyPem`; `eku: false` leaves the TCG EKU out. */
  issueAk(akPublicKeyPem: string, opts?: { serial?: string; eku?: boolean }): Promise<string>;
}

export async function createTpmCa(now: Date): Promise<TpmCa> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(now.getTime() - DAY);
  const notAfter = new Date(now.getTime() + 3650 * DAY);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Test TPM Attestation CA',
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return {
    rootPem: root.toString('pem') + '\n',
    async issueAk(akPublicKeyPem, opts = {}) {
      const spki = createPublicKey(akPublicKeyPem).export({ type: 'spki', format: 'der' });
      const publicKey = await webcrypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
      const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
      if (opts.eku !== false) extensions.push(new x509.ExtendedKeyUsageExtension(['2.23.133.8.3'], false));
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: opts.serial ?? '5a17c0de01',
        subject: 'CN=TPM attestation key',
        issuer: root.subject,
        notBefore,
        notAfter,
        publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: ALG,
        extensions,
      });
      return cert.toString('pem') + '\n';
    },
  };
}
