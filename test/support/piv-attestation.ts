import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * A YubiKey-style PIV attestation, built the way the device builds it (Yubico, "PIV attestation"):
 * a vendor root CA; the device's attestation certificate (slot f9), issued by the root; and the
 * key's attestation certificate, issued by the device certificate, certifying the slot's public
 * key and carrying the firmware version (1.3.6.1.4.1.41482.3.3, three bytes), the serial number
 * (1.3.6.1.4.1.41482.3.7, a DER INTEGER), the PIN and touch policies (1.3.6.1.4.1.41482.3.8,
 * two bytes) and the form factor (1.3.6.1.4.1.41482.3.9, one byte).
 */

x509.cryptoProvider.set(webcrypto as never);
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface PivAttestationFixture {
  rootPem: string;
  /** [key attestation certificate, device attestation certificate], as the token gives them. */
  certificates: [string, string];
  /** The attested key: SPKI PEM to enroll, PKCS#8 PEM to sign decisions with. */
  publicKeyPem: string;
  privateKeyPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** DER INTEGER of a non-negative number (the serial extension's value). */
function derInteger(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return Uint8Array.from([0x02, bytes.length, ...bytes]);
}

export async function buildPivAttestation(opts: { serial?: number; pin?: number; touch?: number; now?: Date; root?: { cert: x509.X509Certificate; keys: CryptoKeyPair }; omit?: ('serial' | 'policy')[] } = {}): Promise<PivAttestationFixture & { root: { cert: x509.X509Certificate; keys: CryptoKeyPair } }> {
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - DAY);
  const notAfter = new Date(now.getTime() + 3650 * DAY);
  const gen = () => webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  const root = opts.root ?? {
    keys: await gen(),
    cert: undefined as unknown as x509.X509Certificate,
  };
  if (!opts.root) {
    root.cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=Test Yubico PIV Root CA Serial 263751',
      notBefore,
      notAfter,
      keys: root.keys,
      signingAlgorithm: ALG,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
  }
  const deviceKeys = await gen();
  const device = await x509.X509CertificateGenerator.create({
    serialNumber: '0a1b2c',
    subject: 'CN=Yubico PIV Attestation',
    issuer: root.cert.subject,
    notBefore,
    notAfter,
    publicKey: deviceKeys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const slotKeys = await gen();
  const serial = opts.serial ?? 12345678;
  const extensions = [new x509.Extension('1.3.6.1.4.1.41482.3.3', false, Uint8Array.from([5, 4, 3]))];
  if (!opts.omit?.includes('serial')) extensions.push(new x509.Extension('1.3.6.1.4.1.41482.3.7', false, derInteger(serial)));
  if (!opts.omit?.includes('policy')) extensions.push(new x509.Extension('1.3.6.1.4.1.41482.3.8', false, Uint8Array.from([opts.pin ?? 2, opts.touch ?? 2])));
  extensions.push(new x509.Extension('1.3.6.1.4.1.41482.3.9', false, Uint8Array.from([0x01])));
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '7f0001',
    subject: 'CN=YubiKey PIV Attestation 9c',
    issuer: device.subject,
    notBefore,
    notAfter,
    publicKey: slotKeys.publicKey,
    signingKey: deviceKeys.privateKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return {
    root,
    rootPem: root.cert.toString('pem') + '\n',
    certificates: [leaf.toString('pem') + '\n', device.toString('pem') + '\n'],
    publicKeyPem: pem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', slotKeys.publicKey)),
    privateKeyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', slotKeys.privateKey)),
  };
}
