import type { SigstoreBundleJson } from '../domain/decision';
import { canonicalJson } from '../canonical-json';
import { fromBase64, toBase64, toHex, utf8 } from '../bytes';
import type { Sha256 } from './tree-hasher';

/**
 * Sigstore interop. A decision's ledger entry carries, at its top level, the Rekor `dsse`
 * 0.0.1 body fields (`kind`, `apiVersion`, `spec`), so the entry's canonical bytes can be the
 * `canonicalizedBody` of a Sigstore tlog entry: @sigstore/verify parses that body as JSON and
 * reads only kind, apiVersion and spec.{payloadHash, signatures}; the ledger's own audit fields
 * ride along unread. The leaf hash of the entry is then exactly the tlog leaf.
 */
export const REKOR_DSSE_KIND = 'dsse';
export const REKOR_DSSE_API_VERSION = '0.0.1';

export interface RekorDsseFields {
  kind: typeof REKOR_DSSE_KIND;
  apiVersion: typeof REKOR_DSSE_API_VERSION;
  spec: {
    /** SHA-256 of the whole DSSE envelope (its canonical JSON: the bytes the store received are not kept). */
    envelopeHash: { algorithm: 'sha256'; value: string };
    payloadHash: { algorithm: 'sha256'; value: string };
    /** Exactly one: each approver's decision is its own bundle. */
    signatures: [{ signature: string; verifier: string }];
  };
}

function envelopeOf(bundle: SigstoreBundleJson): { payload: string; signature: string; canonical: string } {
  const envelope = bundle.dsseEnvelope;
  if (envelope.signatures.length !== 1) throw new TypeError('a decision bundle has exactly one DSSE signature');
  return { payload: envelope.payload, signature: envelope.signatures[0]!.sig, canonical: canonicalJson(envelope) };
}

/**
 * The Rekor dsse 0.0.1 fields for a decision entry. The store's decision writer spreads them
 * into the entry at the top level: `{ ...auditFields, ...decisionEntryFields(bundle, pem, sha256) }`.
 * `signerPublicKeyPem` is the approver's enrolled SPKI PEM (Rekor's `verifier` is base64(PEM)).
 */
export function decisionEntryFields(bundle: SigstoreBundleJson, signerPublicKeyPem: string, sha256: Sha256): RekorDsseFields {
  const { payload, signature, canonical } = envelopeOf(bundle);
  return {
    kind: REKOR_DSSE_KIND,
    apiVersion: REKOR_DSSE_API_VERSION,
    spec: {
      envelopeHash: { algorithm: 'sha256', value: toHex(sha256(utf8(canonical))) },
      payloadHash: { algorithm: 'sha256', value: toHex(sha256(fromBase64(payload))) },
      signatures: [{ signature, verifier: toBase64(utf8(signerPublicKeyPem)) }],
    },
  };
}

/** Why the entry's Rekor fields do not describe `bundle` signed by `signerPublicKeyPem`, or null when they do. */
export function decisionEntryFieldsMismatch(entry: Record<string, unknown>, bundle: SigstoreBundleJson, signerPublicKeyPem: string, sha256: Sha256): string | null {
  let expected: RekorDsseFields;
  try {
    expected = decisionEntryFields(bundle, signerPublicKeyPem, sha256);
  } catch (e) {
    return `its bundle is malformed (${(e as Error).message})`;
  }
  // Decisions recorded before envelopeHash was added carry the other fields only: still valid.
  const spec = entry.spec as Partial<RekorDsseFields['spec']> | undefined;
  const legacy = spec !== undefined && spec !== null && typeof spec === 'object' && !('envelopeHash' in spec);
  if (legacy) {
    const { envelopeHash: _omitted, ...rest } = expected.spec;
    expected = { ...expected, spec: rest as RekorDsseFields['spec'] };
  }
  const actual = { kind: entry.kind, apiVersion: entry.apiVersion, spec: entry.spec };
  if (canonicalJson(actual) === canonicalJson(expected)) return null;
  if (entry.kind !== REKOR_DSSE_KIND || entry.apiVersion !== REKOR_DSSE_API_VERSION) return `its kind/apiVersion is not ${REKOR_DSSE_KIND}/${REKOR_DSSE_API_VERSION}`;
  if (!legacy && spec?.envelopeHash?.value !== expected.spec.envelopeHash.value) return 'its spec.envelopeHash does not match the DSSE envelope';
  if (spec?.payloadHash?.value !== expected.spec.payloadHash.value) return 'its spec.payloadHash does not match the signed payload';
  if (spec?.signatures?.[0]?.signature !== expected.spec.signatures[0].signature) return 'its spec.signatures[0].signature does not match the bundle signature';
  if (spec?.signatures?.[0]?.verifier !== expected.spec.signatures[0].verifier) return "its spec.signatures[0].verifier is not the approver's enrolled key";
  return 'its Rekor dsse fields do not match the bundle';
}

/** Canonical JSON Rekor signs as a Signed Entry Timestamp (the inclusion promise). */
export function signedEntryTimestampPayload(args: { canonicalizedBody: Uint8Array; integratedTime: number; logIndex: number; logId: Uint8Array }): Uint8Array {
  return utf8(
    canonicalJson({
      body: toBase64(args.canonicalizedBody),
      integratedTime: args.integratedTime,
      logIndex: args.logIndex,
      logID: toHex(args.logId),
    }),
  );
}

export interface TlogEntryInput {
  /** The decision entry's exact canonical bytes (its Merkle leaf). */
  entryBytes: Uint8Array;
  seq: number;
  /** Seconds since the epoch: the ledger time of the entry. */
  integratedTime: number;
  /** Log id: SHA-256(note key name ‖ 0x0A ‖ 0x01 ‖ key); its first 4 bytes are the checkpoint key hint. */
  logId: Uint8Array;
  treeSize: number;
  rootHash: Uint8Array;
  inclusionProof: Uint8Array[];
  /** The signed note whose checkpoint has `treeSize` and `rootHash`. */
  checkpointNote: string;
  /** Optional Ed25519 signature by the log key over signedEntryTimestampPayload(...). */
  signedEntryTimestamp?: Uint8Array;
}

/**
 * The bundle with `verificationMaterial.tlogEntries` set to one dsse/0.0.1 entry for the
 * ledger: logIndex = seq, canonicalizedBody = the entry bytes, an inclusion proof with the
 * checkpoint envelope, and (when given) the inclusion promise so the entry also counts as a
 * timestamp for the stock verifier's default thresholds.
 */
export function bundleWithTlogEntry(bundle: SigstoreBundleJson, input: TlogEntryInput): SigstoreBundleJson {
  const tlogEntry: Record<string, unknown> = {
    logIndex: String(input.seq),
    logId: { keyId: toBase64(input.logId) },
    kindVersion: { kind: REKOR_DSSE_KIND, version: REKOR_DSSE_API_VERSION },
    integratedTime: String(input.integratedTime),
    inclusionProof: {
      logIndex: String(input.seq),
      rootHash: toBase64(input.rootHash),
      treeSize: String(input.treeSize),
      hashes: input.inclusionProof.map(toBase64),
      checkpoint: { envelope: input.checkpointNote },
    },
    canonicalizedBody: toBase64(input.entryBytes),
  };
  if (input.signedEntryTimestamp) tlogEntry.inclusionPromise = { signedEntryTimestamp: toBase64(input.signedEntryTimestamp) };
  const material = bundle.verificationMaterial as Record<string, unknown>;
  return { ...bundle, verificationMaterial: { ...material, tlogEntries: [tlogEntry] } };
}
