import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { utf8 } from '../../../../shared/bytes';
import { formatCheckpoint } from '../../../../shared/ledger/checkpoint';
import { verifyCosignatureLine } from '../../../../shared/ledger/cosignature';
import { MemoryTree } from '../../../../shared/ledger/memory-tree';
import { consistencyProof } from '../../../../shared/ledger/proofs';
import { signNote } from '../../../../shared/ledger/signed-note';
import { witnessAddCheckpoint, type WitnessRecord } from '../../../../shared/ledger/witness-core';
import { formatAddCheckpointRequest, parseAddCheckpointRequest, parseTlogSize } from '../../../../shared/ledger/witness-protocol';
import { ed25519Cosigner, ed25519NoteSigner, ed25519NoteVerifier, nodeEd25519Verify, nodeTreeHasher as hasher } from '../../../../shared/node/ledger/node-crypto';

function pem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

const ORIGIN = 'store.example.com/breakglass';
const logSigner = ed25519NoteSigner(ORIGIN, pem());
const logKey = ed25519NoteVerifier(ORIGIN, logSigner.publicKeyPem);
const cosigner = ed25519Cosigner('witness.example/w1', pem());

function tree(n: number, fork = ''): MemoryTree {
  const t = new MemoryTree(hasher);
  for (let i = 0; i < n; i++) t.appendData(utf8(`${i < 5 ? '' : fork}entry ${i}`));
  return t;
}

function note(t: MemoryTree, signer = logSigner): string {
  return signNote(formatCheckpoint({ origin: ORIGIN, size: t.size, rootHash: t.root(), extensions: [] }), [signer]);
}

/** A witness with its state in a map, as `witness serve` keeps it (in a file). */
function witness() {
  const state = new Map<string, WitnessRecord>();
  let now = 1_800_000_000;
  return {
    state,
    add(body: string) {
      const outcome = witnessAddCheckpoint(parseAddCheckpointRequest(body), {
        hasher,
        logKeys: (origin) => (origin === ORIGIN ? [logKey] : undefined),
        latest: (origin) => state.get(origin),
        cosigner,
        nowSeconds: () => now++,
      });
      if (outcome.status === 200) state.set(outcome.record.origin, outcome.record);
      return outcome;
    },
  };
}

describe('C2SP tlog-witness add-checkpoint', () => {
  test('request format round trip; malformed bodies are 400 with the reason', () => {
    const t = tree(9);
    const proof = consistencyProof(hasher, t, 4, 9);
    const body = formatAddCheckpointRequest({ oldSize: 4, proof, note: note(t) });
    assert.ok(body.startsWith('old 4\n'));
    const parsed = parseAddCheckpointRequest(body);
    assert.equal(parsed.oldSize, 4);
    assert.deepEqual(parsed.proof.map((h) => Buffer.from(h).toString('hex')), proof.map((h) => Buffer.from(h).toString('hex')));
    assert.equal(parsed.note, note(t));
    for (const [bad, why] of [
      ['old 04\n\nx', /old <size>/],
      ['new 4\n\nx', /old <size>/],
      ['old 4\nAAAA\n\nx', /not a 32-byte hash/],
      ['old 4\n!!!\n\nx', /not base64/],
      ['old 4\n', /missing the empty line/],
      ['old 4\n\n', /no checkpoint/],
      [`old 4\n${'A'.repeat(43)}=\n`.repeat(1) + `${`${'A'.repeat(43)}=\n`.repeat(63)}\nx`, /more than 63/],
    ] as const) {
      assert.throws(() => parseAddCheckpointRequest(bad), why);
    }
    assert.equal(parseTlogSize('12\n'), 12);
    assert.throws(() => parseTlogSize('x\n'), /not a tree size/);
  });

  test('cosigns the first checkpoint (old 0), then only consistent extensions; answers 409 with its size when the old size is stale', () => {
    const w = witness();
    const t5 = tree(5);
    const first = w.add(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: note(t5) }));
    assert.equal(first.status, 200);
    if (first.status !== 200) return;
    const cosignature = verifyCosignatureLine(first.record.checkpoint, first.lines[0]!, cosigner.key, nodeEd25519Verify);
    assert.equal(cosignature.timestamp, first.record.cosignedAt);
    const t9 = tree(9);
    const stale = w.add(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: note(t9) }));
    assert.deepEqual(stale.status === 409 && stale.size, 5);
    const ok = w.add(formatAddCheckpointRequest({ oldSize: 5, proof: consistencyProof(hasher, t9, 5, 9), note: note(t9) }));
    assert.equal(ok.status, 200);
    assert.equal(w.state.get(ORIGIN)!.size, 9);
    // The same checkpoint again: old size = size, empty proof, same root.
    assert.equal(w.add(formatAddCheckpointRequest({ oldSize: 9, proof: [], note: note(t9) })).status, 200);
  });

  test('a fork is refused by a witness that cosigned the other branch: 409 at the same size, 422 when it grows', () => {
    const w = witness();
    const t7 = tree(7);
    assert.equal(w.add(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: note(t7) })).status, 200);
    const fork7 = tree(7, 'forked ');
    const sameSize = w.add(formatAddCheckpointRequest({ oldSize: 7, proof: [], note: note(fork7) }));
    assert.equal(sameSize.status, 409);
    assert.match(sameSize.status === 409 ? sameSize.reason : '', /split view/);
    const fork12 = tree(12, 'forked ');
    // The fork's own (valid for the fork) consistency proof does not lead from the cosigned root.
    const grown = w.add(formatAddCheckpointRequest({ oldSize: 7, proof: consistencyProof(hasher, fork12, 7, 12), note: note(fork12) }));
    assert.equal(grown.status, 422);
    assert.equal(w.state.get(ORIGIN)!.size, 7, 'a refused checkpoint leaves the record alone');
  });

  test('unknown origin 404, no valid log signature 403, old size above the checkpoint 400', () => {
    const w = witness();
    const t3 = tree(3);
    const otherLog = ed25519NoteSigner('other.example/log', pem());
    const foreign = signNote(formatCheckpoint({ origin: 'other.example/log', size: 3, rootHash: t3.root(), extensions: [] }), [otherLog]);
    assert.equal(w.add(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: foreign })).status, 404);
    const impostor = ed25519NoteSigner(ORIGIN, pem());
    assert.equal(w.add(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: note(t3, impostor) })).status, 403);
    assert.equal(w.add(formatAddCheckpointRequest({ oldSize: 4, proof: [], note: note(t3) })).status, 400);
    assert.equal(w.state.size, 0);
  });
});
