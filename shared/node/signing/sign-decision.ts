import { verify as cryptoVerify } from 'node:crypto';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, type Signer as SigstoreSigner } from '@sigstore/sign';
import { canonicalJsonBytes } from '../../canonical-json';
import { DECISION_PAYLOAD_TYPE, DecisionStatementSchema, type DecisionStatement, type SigstoreBundleJson } from '../../domain/decision';
import { AppError, parseOrThrow } from '../../errors';
import { preAuthEncoding } from '../../signing/dsse';
import { parsePublicKeyPem } from './key-id';
import type { DecisionSigner } from './signer';

/**
 * Sign a decision: a DSSE envelope (payload type DECISION_PAYLOAD_TYPE) over the canonical
 * JSON of the statement, packaged by @sigstore/sign as a Sigstore bundle v0.3 whose
 * verification material is a public-key hint = the signer's key id. No witnesses: the grant
 * store's ledger adds the transparency-log entry when it records the decision.
 *
 * Throws AppError('invalid_input') for a statement that fails DecisionStatementSchema and
 * AppError('verification_failed') when the signer's output does not verify under its own
 * public key (e.g. a token holding a different key than the one it reported).
 */
export async function signDecision(statement: DecisionStatement, signer: DecisionSigner): Promise<SigstoreBundleJson> {
  const valid = parseOrThrow(DecisionStatementSchema, statement, 'decision statement');
  const payload = Buffer.from(canonicalJsonBytes(valid));
  const publicKey = parsePublicKeyPem(signer.publicKeyPem);

  const sigstoreSigner: SigstoreSigner = {
    sign: async (pae: Buffer) => {
      const signature = Buffer.from(await signer.sign(new Uint8Array(pae)));
      return { signature, key: { $case: 'publicKey', publicKey: signer.publicKeyPem, hint: signer.keyId } };
    },
  };
  const builder = new DSSEBundleBuilder({ signer: sigstoreSigner, witnesses: [] });
  const bundle = await builder.create({ data: payload, type: DECISION_PAYLOAD_TYPE });

  // Check before anything leaves this process: a bundle the store would reject is useless,
  // and for hardware signers this catches a slot holding a different key.
  const envelope = bundle.content.$case === 'dsseEnvelope' ? bundle.content.dsseEnvelope : undefined;
  const sig = envelope?.signatures[0]?.sig;
  if (!sig || !cryptoVerify('sha256', preAuthEncoding(DECISION_PAYLOAD_TYPE, payload), publicKey, sig)) {
    throw new AppError('verification_failed', `the signer's signature does not verify under its public key ${signer.keyId}: wrong key or broken signer`);
  }
  return bundleToJSON(bundle) as SigstoreBundleJson;
}
