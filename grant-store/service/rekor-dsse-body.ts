import type { SigstoreBundleJson } from '../../shared/domain/decision';
import { decisionEntryFields, type RekorDsseFields } from '../../shared/ledger/rekor-dsse';
import { nodeSha256 } from '../../shared/node/ledger/node-crypto';

/**
 * The Rekor `dsse` 0.0.1 body of a decision bundle. A decision's ledger entry carries it at the
 * top level (kind, apiVersion, spec) so the entry's canonical bytes can serve as a Sigstore tlog
 * entry's canonicalizedBody: stock @sigstore/verify reads only these three fields. One
 * definition, shared with the ledger verifier (shared/ledger/rekor-dsse.ts).
 */
export function rekorDsseBody(bundle: SigstoreBundleJson, publicKeyPem: string): RekorDsseFields {
  return decisionEntryFields(bundle, publicKeyPem, nodeSha256);
}
