import { createHash } from 'node:crypto';
import type { SigstoreBundleJson } from '../../shared/domain/decision';

/**
 * The Rekor `dsse` 0.0.1 body of a decision bundle. A decision's ledger entry carries it at the
 * top level (kind, apiVersion, spec) so the entry's canonical bytes can serve as a Sigstore tlog
 * entry's canonicalizedBody: stock @sigstore/verify reads only these three fields.
 */
export function rekorDsseBody(bundle: SigstoreBundleJson, publicKeyPem: string): { kind: 'dsse'; apiVersion: '0.0.1'; spec: Record<string, unknown> } {
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  const signature = bundle.dsseEnvelope.signatures[0]?.sig ?? '';
  return {
    kind: 'dsse',
    apiVersion: '0.0.1',
    spec: {
      payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
      signatures: [{ signature, verifier: Buffer.from(publicKeyPem, 'utf8').toString('base64') }],
    },
  };
}
