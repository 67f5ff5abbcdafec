import { createHash, type KeyObject } from 'node:crypto';
import { BUNDLE_V03_MEDIA_TYPE, bundleFromJSON, isBundleWithDsseEnvelope, isBundleWithPublicKey, type Bundle } from '@sigstore/bundle';
import { Verifier, toSignedEntity, type TrustMaterial } from '@sigstore/verify';
import { canonicalJsonBytes } from '../../canonical-json';
import { DECISION_PAYLOAD_TYPE, DecisionStatementSchema, type DecisionStatement } from '../../domain/decision';
import { AppError, fieldErrorsFromZod } from '../../errors';
import { bytesEqual } from '../../bytes';
import { keyIdFromPublicKey, parsePublicKeyPem } from './key-id';

export interface VerifiedDecision {
  statement: DecisionStatement;
  /** The key id the bundle was signed with (its public-key hint). */
  keyId: string;
  /** `sha256:<hex>` of the raw signature bytes: a stable handle for replay detection. */
  signatureDigest: string;
}

/** Optional bindings the caller already knows; a mismatch is a verification failure. */
export interface ExpectedDecision {
  requestId?: string;
  requestDigest?: string;
}

export type DecisionKeyLookup = (keyId: string) => { publicKeyPem: string } | undefined;

/**
 * Verify a decision bundle: Sigstore bundle v0.3 with a DSSE envelope of payload type
 * DECISION_PAYLOAD_TYPE, exactly one signature, a public-key hint naming a key that `keys`
 * knows, a signature that @sigstore/verify accepts under that key, and a payload that is the
 * canonical JSON of a valid DecisionStatement.
 *
 * Transparency-log entries in the bundle are NOT checked here (the ledger adds and verifies
 * them); this checks the approver's signature only. The caller must still check that the key
 * belongs to the statement's approver, is not revoked, and that the signatureDigest is new.
 *
 * Every failure throws AppError('verification_failed') whose message says what is wrong.
 */
export async function verifyDecisionBundle(bundle: unknown, keys: DecisionKeyLookup, expected: ExpectedDecision = {}): Promise<VerifiedDecision> {
  // Structural checks on the JSON first, so each common mistake gets its own message rather
  // than the generic "invalid bundle" of the protobuf layer.
  if (typeof bundle !== 'object' || bundle === null || Array.isArray(bundle)) fail('malformed bundle: not a JSON object');
  const raw = bundle as Record<string, unknown>;
  if (raw.mediaType !== BUNDLE_V03_MEDIA_TYPE) fail(`wrong bundle media type ${JSON.stringify(raw.mediaType)}: expected ${BUNDLE_V03_MEDIA_TYPE}`);
  const rawEnvelope = raw.dsseEnvelope as Record<string, unknown> | undefined;
  if (typeof rawEnvelope !== 'object' || rawEnvelope === null) fail('malformed bundle: no dsseEnvelope');
  if (rawEnvelope.payloadType !== DECISION_PAYLOAD_TYPE) fail(`wrong payload type ${JSON.stringify(rawEnvelope.payloadType)}: expected ${DECISION_PAYLOAD_TYPE}`);
  if (!Array.isArray(rawEnvelope.signatures) || rawEnvelope.signatures.length !== 1) {
    fail(`expected exactly one signature in the DSSE envelope, found ${Array.isArray(rawEnvelope.signatures) ? rawEnvelope.signatures.length : 'none'}`);
  }

  let parsed: Bundle;
  try {
    parsed = bundleFromJSON(bundle);
  } catch (error) {
    const fields = (error as { fields?: string[] }).fields;
    fail(`malformed bundle: ${(error as Error).message}${fields?.length ? ` (${fields.join(', ')})` : ''}`);
  }
  if (!isBundleWithDsseEnvelope(parsed)) fail('malformed bundle: not a DSSE envelope bundle');
  if (!isBundleWithPublicKey(parsed)) fail('malformed bundle: verification material must be a public-key hint (certificates are not used here)');
  const envelope = parsed.content.dsseEnvelope;
  const signature = envelope.signatures[0]!;
  const keyId = parsed.verificationMaterial.content.publicKey.hint;
  if (!keyId) fail('malformed bundle: empty public-key hint');
  if (signature.keyid && signature.keyid !== keyId) fail(`the signature's keyid ${signature.keyid} does not match the bundle's key hint ${keyId}`);
  if (signature.sig.length === 0) fail('malformed bundle: empty signature');

  const known = keys(keyId);
  if (!known) fail(`unknown key ${keyId}: not enrolled (or revoked) for any approver`);
  let key: ParsedKey;
  try {
    key = parsedKey(known.publicKeyPem);
  } catch (error) {
    fail(`enrolled key ${keyId} is not a usable public key: ${(error as Error).message}`);
  }
  const publicKey = key.publicKey;
  // The hint is chosen by the signer: make sure the key we were handed really is that key.
  if (key.keyId !== keyId) fail(`the key found for hint ${keyId} has a different key id`);

  const trustMaterial: TrustMaterial = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: (hint) => {
      if (hint !== keyId) throw new Error(`unexpected key hint ${hint}`);
      return { publicKey, validFor: () => true };
    },
  };
  // Signature only: tlog entries and timestamps are the ledger's to verify.
  const signatureOnly: Bundle = {
    ...parsed,
    verificationMaterial: { ...parsed.verificationMaterial, tlogEntries: [], timestampVerificationData: undefined },
  };
  try {
    new Verifier(trustMaterial, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(signatureOnly));
  } catch (error) {
    fail(`bad signature: the DSSE signature does not verify under key ${keyId} (${(error as Error).message})`);
  }

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(envelope.payload));
  } catch (error) {
    fail(`payload is not UTF-8 JSON (${(error as Error).message})`);
  }
  const result = DecisionStatementSchema.safeParse(json);
  if (!result.success) {
    const fieldErrors = fieldErrorsFromZod(result.error);
    throw new AppError('verification_failed', `payload is not a valid decision statement: ${fieldErrors.map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ')}`, { fieldErrors });
  }
  const statement = result.data;
  // Canonical bytes only: rules out duplicate keys and other encodings that parse the same.
  if (!bytesEqual(canonicalJsonBytes(json), envelope.payload) || !bytesEqual(canonicalJsonBytes(statement), envelope.payload)) {
    fail('payload is not the canonical JSON of a decision statement');
  }
  if (expected.requestId !== undefined && statement.requestId !== expected.requestId) {
    fail(`bundle is for another request: it names ${statement.requestId}, expected ${expected.requestId}`);
  }
  if (expected.requestDigest !== undefined && statement.requestDigest !== expected.requestDigest) {
    fail(`bundle is for another version of the request: requestDigest ${statement.requestDigest} does not match ${expected.requestDigest}`);
  }

  return { statement, keyId, signatureDigest: `sha256:${createHash('sha256').update(signature.sig).digest('hex')}` };
}

interface ParsedKey {
  publicKey: KeyObject;
  /** keyIdFromPublicKey(publicKey). */
  keyId: string;
}

/** How many parsed keys are kept (a ledger's decisions are signed by a handful of approvers' keys). */
const PARSED_KEYS = 64;
const parsedKeys = new Map<string, ParsedKey>();

/**
 * An enrolled key's PEM text parsed, and its key id, kept by that text: parsing the PEM
 * (createPublicKey) and deriving the id (the DER exported and hashed) cost ~0.35 ms, more than
 * the signature check itself (~0.1 ms for P-256), and a ledger verifier checks every decision of
 * the same few keys. The same text always gives the same key and id, so every check is still
 * made on every call; a PEM that does not parse is not kept (it throws each time).
 */
function parsedKey(pem: string): ParsedKey {
  let key = parsedKeys.get(pem);
  if (!key) {
    const publicKey = parsePublicKeyPem(pem);
    key = { publicKey, keyId: keyIdFromPublicKey(publicKey) };
    parsedKeys.set(pem, key);
    if (parsedKeys.size > PARSED_KEYS) parsedKeys.delete(parsedKeys.keys().next().value!);
  }
  return key;
}

function fail(message: string): never {
  throw new AppError('verification_failed', message);
}
