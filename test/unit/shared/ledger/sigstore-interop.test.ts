import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { PublicKey, TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleFromJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import type { SigstoreBundleJson } from '../../../../shared/domain/decision';
import { utf8 } from '../../../../shared/bytes';
import { inclusionProof, treeRoot } from '../../../../shared/ledger/proofs';
import { bundleWithTlogEntry, decisionEntryFields, signedEntryTimestampPayload } from '../../../../shared/ledger/rekor-dsse';
import { ed25519NoteKeyHash } from '../../../../shared/ledger/signed-note';
import { approverPublicKeys, ledgerTrustedRoot } from '../../../../shared/ledger/trusted-root';
import { nodeSha256, nodeTreeHasher as hasher } from '../../../../shared/node/ledger/node-crypto';
import { buildSyntheticLedger, ORIGIN, type SyntheticLedger } from '../../../fixtures/ledger/synthetic-ledger';

// Pure shared/ledger Sigstore interop, without a store: a decision entry's canonical bytes are
// the canonicalizedBody of a dsse/0.0.1 tlog entry that stock @sigstore/verify accepts.

describe('Sigstore interop of decision entries', () => {
  let l: SyntheticLedger;
  before(async () => {
    l = await buildSyntheticLedger(40, { decisionEvery: 3 });
  });

  function bundleFor(seq: number, treeSize = l.texts.length): SigstoreBundleJson {
    const entry = l.entries[seq]!;
    const bytes = utf8(l.texts[seq]!);
    const logId = ed25519NoteKeyHash(ORIGIN, l.logSigner.rawPublicKey, nodeSha256);
    const integratedTime = Math.floor(Date.parse(entry.time) / 1000);
    return bundleWithTlogEntry(entry.data.bundle as SigstoreBundleJson, {
      entryBytes: bytes,
      seq,
      integratedTime,
      logId,
      treeSize,
      rootHash: treeRoot(hasher, l.tree, treeSize),
      inclusionProof: inclusionProof(hasher, l.tree, seq, treeSize),
      checkpointNote: l.checkpointAt(treeSize),
      signedEntryTimestamp: l.logSigner.sign(signedEntryTimestampPayload({ canonicalizedBody: bytes, integratedTime, logIndex: seq, logId })),
    });
  }

  function verifier(revokedAt?: string) {
    const logId = ed25519NoteKeyHash(ORIGIN, l.logSigner.rawPublicKey, nodeSha256);
    const root = ledgerTrustedRoot({ origin: ORIGIN, logPublicKeyPem: l.logSigner.publicKeyPem, logId, validFrom: l.entries[0]!.time });
    const keys = approverPublicKeys(
      l.approvers.map((a, i) => ({ keyId: a.keyId, publicKeyPem: a.publicKeyPem, enrolledAt: l.entries[i]!.time, revokedAt: i === 0 ? (revokedAt ?? null) : null })),
    );
    const material = toTrustMaterial(TrustedRoot.fromJSON(root), Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, PublicKey.fromJSON(v)])));
    return (bundle: unknown) => new Verifier(material, { tlogThreshold: 1 }).verify(toSignedEntity(bundleFromJSON(bundle)));
  }

  test('decisionEntryFields is exactly what the fixture (and the store) put in the entry', () => {
    const seq = l.entries.findIndex((e) => e.type === 'decision');
    const e = l.entries[seq]! as unknown as Record<string, unknown> & { data: { bundle: SigstoreBundleJson } };
    const bob = l.approvers.find((a) => a.principal === e.actor)!;
    assert.deepEqual({ kind: e.kind, apiVersion: e.apiVersion, spec: e.spec }, decisionEntryFields(e.data.bundle, bob.publicKeyPem, nodeSha256));
  });

  test('every decision bundle verifies with the stock Verifier (tlogThreshold 1, default timestamp threshold), at every covering tree size', () => {
    const verify = verifier();
    let checked = 0;
    l.entries.forEach((e, seq) => {
      if (e.type !== 'decision') return;
      for (const size of [seq + 1, l.texts.length]) {
        verify(bundleFor(seq, size));
        checked++;
      }
    });
    assert.ok(checked >= 10);
  });

  test('a key revoked before the decision time, another log or a wrong tree size is refused', () => {
    const seq = l.entries.findIndex((e, i) => i > 5 && e.type === 'decision' && e.actor === 'alice');
    const bundle = bundleFor(seq);
    verifier()(bundle);
    assert.throws(() => verifier(l.entries[2]!.time)(bundle), /not valid|PUBLIC_KEY/i);
    const other = JSON.parse(JSON.stringify(bundle)) as { verificationMaterial: { tlogEntries: Array<{ inclusionProof: { treeSize: string; checkpoint: { envelope: string } } }> } };
    other.verificationMaterial.tlogEntries[0]!.inclusionProof.checkpoint.envelope = l.checkpointAt(seq + 2);
    assert.throws(() => verifier()(other));
  });
});
