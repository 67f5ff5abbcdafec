import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../../../shared/canonical-json';
import { formatCheckpoint } from '../../../../shared/ledger/checkpoint';
import { consistencyProof, inclusionProof, treeRoot, verifyConsistency, verifyInclusion } from '../../../../shared/ledger/proofs';
import { MemoryTree } from '../../../../shared/ledger/memory-tree';
import { signNote } from '../../../../shared/ledger/signed-note';
import { verifyLedger, type LedgerVerdict } from '../../../../shared/ledger/verify-ledger';
import { utf8 } from '../../../../shared/bytes';
import { ed25519NoteSigner, nodeTreeHasher as hasher } from '../../../../shared/node/ledger/node-crypto';
import { verifyDecisionBundle } from '../../../../shared/node/signing/verify-decision';
import { generateKeyPairSync } from 'node:crypto';
import { buildSyntheticLedger, ORIGIN, type SyntheticLedger } from '../../../fixtures/ledger/synthetic-ledger';

// The ledger mutation suite (modelled on transparency-dev/merkle's corrupt-proof probes):
// every single corruption of entries, checkpoints or proofs must be rejected, naming the first
// bad entry where one exists; the untouched ledger must verify (no false rejects either).

const SIZES = [1, 2, 3, 7, 8, 9, 17, 64, 100, 1000, 10_000];
const ledgers = new Map<number, SyntheticLedger>();

async function verify(l: SyntheticLedger, texts: readonly string[], extra: { checkpoint?: string; trusted?: string; recorded?: boolean; history?: boolean } = {}): Promise<LedgerVerdict> {
  return verifyLedger(
    {
      entryTexts: texts,
      checkpoint: extra.checkpoint ?? l.checkpointAt(l.texts.length),
      history: extra.history === false ? [] : l.history,
      recordedLeafHashes: extra.recorded === false ? undefined : Array.from({ length: l.tree.size }, (_, i) => l.tree.perfect(0, i)),
    },
    { hasher, logKey: l.logKey, verifyDecision: verifyDecisionBundle, trustedCheckpoint: extra.trusted },
  );
}

// Small ledgers get every interesting position; large ones first, middle and last (each verify of
// 10,000 entries re-hashes and re-parses all of them, and the suite must stay well under a minute).
function positions(n: number): number[] {
  const candidates = n >= 1000 ? [0, Math.floor(n / 2), n - 1] : [0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 2, n - 1];
  return [...new Set(candidates.filter((p) => p >= 0 && p < n))];
}

function flipBit(text: string, byteIndex: number, bit: number): string {
  const bytes = Buffer.from(text, 'utf8');
  bytes[byteIndex % bytes.length]! ^= 1 << bit;
  return bytes.toString('utf8');
}

function assertRejected(verdict: LedgerVerdict, what: string, seq?: number | null): void {
  assert.equal(verdict.ok, false, `false accept: ${what}`);
  if (!verdict.ok && seq !== undefined) assert.equal(verdict.problem.seq, seq, `${what}: first bad entry ${verdict.problem.seq} (${verdict.problem.message}), expected ${seq}`);
}

before(async () => {
  for (const size of SIZES) ledgers.set(size, await buildSyntheticLedger(size, { decisionEvery: size >= 1000 ? 250 : 5, checkpointEvery: size >= 1000 ? 500 : 4 }));
});

describe('ledger mutation suite: shared verifier', () => {
  test('every untouched ledger verifies', async () => {
    for (const [size, l] of ledgers) {
      const verdict = await verify(l, l.texts);
      assert.ok(verdict.ok, `size ${size}: ${!verdict.ok && verdict.problem.message}`);
      assert.equal(verdict.treeSize, size);
      const noHelp = await verify(l, l.texts, { recorded: false, history: false, trusted: l.checkpointAt(Math.floor(size / 2)) });
      assert.ok(noHelp.ok, `size ${size} without history: ${!noHelp.ok && noHelp.problem.message}`);
    }
  });

  test('a flipped bit in any entry is caught at that entry', async () => {
    for (const [size, l] of ledgers) {
      for (const p of positions(size)) {
        const len = Buffer.byteLength(l.texts[p]!);
        const spots = size >= 1000 ? [9, Math.floor(len / 2)] : [0, 9, Math.floor(len / 2), len - 2];
        for (const at of spots) {
          for (const bit of size >= 1000 ? [5] : [0, 5]) {
            const texts = l.texts.slice();
            texts[p] = flipBit(texts[p]!, at, bit);
            if (texts[p] === l.texts[p]) continue;
            assertRejected(await verify(l, texts), `size ${size} flip byte ${at} bit ${bit} of entry ${p}`, p);
            assertRejected(await verify(l, texts, { recorded: false, history: false }), `size ${size} flip (no hints) entry ${p}`);
          }
        }
      }
    }
  });

  test('deleted, reordered, inserted and truncated entries are caught at the first bad entry', async () => {
    for (const [size, l] of ledgers) {
      for (const p of positions(size)) {
        const deleted = l.texts.filter((_, i) => i !== p);
        assertRejected(await verify(l, deleted), `size ${size} delete ${p}`, p);
        assertRejected(await verify(l, deleted, { recorded: false, history: false }), `size ${size} delete ${p} (no hints)`, p);

        if (p + 1 < size) {
          const swapped = l.texts.slice();
          [swapped[p], swapped[p + 1]] = [swapped[p + 1]!, swapped[p]!];
          assertRejected(await verify(l, swapped), `size ${size} swap ${p},${p + 1}`, p);
        }

        const forged = { ...l.entries[p]!, reason: 'inserted by an attacker to cover tracks' };
        const inserted = [...l.texts.slice(0, p), canonicalJson(forged), ...l.texts.slice(p)];
        assertRejected(await verify(l, inserted), `size ${size} insert before ${p}`, p);
        const duplicated = [...l.texts.slice(0, p + 1), l.texts[p]!, ...l.texts.slice(p + 1)];
        assertRejected(await verify(l, duplicated), `size ${size} duplicate ${p}`, p + 1);

        const truncated = l.texts.slice(0, p);
        assertRejected(await verify(l, truncated), `size ${size} truncate to ${p}`, p);
      }
    }
  });

  test('an entry rewritten consistently (new leaf, log re-signed by a thief of the log key) still fails on its signature', async () => {
    const l = ledgers.get(100)!;
    const decisionSeq = l.entries.findIndex((e) => e.type === 'decision');
    const entry = structuredClone(l.entries[decisionSeq]!) as unknown as Record<string, unknown> & { data: { bundle: { dsseEnvelope: { payload: string } } } };
    const payload = JSON.parse(Buffer.from(entry.data.bundle.dsseEnvelope.payload, 'base64').toString()) as Record<string, unknown>;
    payload.ttl = '24h';
    entry.data.bundle.dsseEnvelope.payload = Buffer.from(canonicalJson(payload)).toString('base64');
    const texts = l.texts.slice();
    texts[decisionSeq] = canonicalJson(entry);
    const tree = new MemoryTree(hasher);
    for (const t of texts) tree.appendData(utf8(t));
    const resigned = signNote(formatCheckpoint({ origin: ORIGIN, size: texts.length, rootHash: tree.root(), extensions: [] }), [l.logSigner]);
    const verdict = await verifyLedger({ entryTexts: texts, checkpoint: resigned }, { hasher, logKey: l.logKey, verifyDecision: verifyDecisionBundle });
    assertRejected(verdict, 'rewritten decision payload', decisionSeq);
    assert.ok(!verdict.ok && ['decision_mismatch', 'bad_signature'].includes(verdict.problem.code), !verdict.ok ? verdict.problem.message : '');
  });

  test('a decision by a revoked or unknown key is refused even under a valid checkpoint', async () => {
    const l = ledgers.get(100)!;
    const revokedAt = l.entries.findIndex((e) => e.type === 'key_revoked');
    const bobDecision = l.entries.findIndex((e) => e.type === 'decision' && e.actor === 'bob');
    assert.ok(revokedAt > 0 && bobDecision > 0);
    // Move bob's decision after his key's revocation, re-number, re-sign: the ledger is well formed but the key was revoked.
    const moved = l.entries.filter((_, i) => i !== bobDecision);
    moved.splice(revokedAt, 0, l.entries[bobDecision]!);
    const texts = moved.map((e, i) => canonicalJson({ ...e, seq: i }));
    const tree = new MemoryTree(hasher);
    for (const t of texts) tree.appendData(utf8(t));
    const note = signNote(formatCheckpoint({ origin: ORIGIN, size: texts.length, rootHash: tree.root(), extensions: [] }), [l.logSigner]);
    const verdict = await verifyLedger({ entryTexts: texts, checkpoint: note }, { hasher, logKey: l.logKey, verifyDecision: verifyDecisionBundle });
    assertRejected(verdict, 'decision after revocation', revokedAt);
    assert.equal(!verdict.ok && verdict.problem.code, 'key_not_enrolled');
  });

  test('forged checkpoints, rolled-back logs and split views are refused', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const thief = ed25519NoteSigner(ORIGIN, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    for (const [size, l] of ledgers) {
      assertRejected(await verify(l, l.texts, { checkpoint: l.checkpointAt(size, thief) }), `size ${size} checkpoint signed by another key`, null);
      const note = l.checkpointAt(size);
      const [body, sigs] = note.split('\n\n') as [string, string];
      const lines = body.split('\n');
      const bumped = `${lines[0]}\n${size + 1}\n${lines.slice(2).join('\n')}\n\n${sigs}`;
      assertRejected(await verify(l, l.texts, { checkpoint: bumped }), `size ${size} checkpoint with altered size`, null);
      // Split view: the log signs a different tree of the same size for another client.
      const other = await buildSyntheticLedger(size, { decisionEvery: 1000 });
      const otherRoot = treeRoot(hasher, other.tree, size);
      const split = signNote(formatCheckpoint({ origin: ORIGIN, size, rootHash: otherRoot, extensions: [] }), [l.logSigner]);
      assertRejected(await verify(l, l.texts, { trusted: split }), `size ${size} split view`);
      assertRejected(await verify(l, l.texts, { checkpoint: split, history: false }), `size ${size} split view served as latest`);
      if (size > 1) {
        const p = Math.floor(size / 2);
        const rolledBack = l.texts.slice(0, p);
        assertRejected(await verify(l, rolledBack, { checkpoint: l.checkpointAt(p), trusted: l.checkpointAt(size) }), `size ${size} rolled back to ${p}`);
      }
    }
  });
});

describe('incremental verification from a saved state', () => {
  test('new entries verify against the saved frontier; mutations in them, a corrupted state or a rewritten past are refused', async () => {
    const l = ledgers.get(1000)!;
    const half = 500;
    const opts = { hasher, logKey: l.logKey, verifyDecision: verifyDecisionBundle };
    const first = await verifyLedger({ entryTexts: l.texts.slice(0, half), checkpoint: l.checkpointAt(half) }, opts);
    assert.ok(first.ok, !first.ok ? first.problem.message : '');
    const resume = first.state;
    const next = (texts: string[], extra: { checkpoint?: string; trusted?: string; frontier?: Uint8Array[] } = {}) =>
      verifyLedger(
        {
          entryTexts: texts,
          checkpoint: extra.checkpoint ?? l.checkpointAt(1000),
          resume: { ...resume, frontier: extra.frontier ?? resume.frontier },
          recordedLeafHashes: Array.from({ length: 1000 - half }, (_, i) => l.tree.perfect(0, half + i)),
        },
        { ...opts, trustedCheckpoint: extra.trusted ?? l.checkpointAt(half) },
      );
    const ok = await next(l.texts.slice(half));
    assert.ok(ok.ok, !ok.ok ? ok.problem.message : '');
    assert.equal(ok.treeSize, 1000);
    assert.equal(ok.entriesVerified, 500);

    const flipped = l.texts.slice(half);
    flipped[200] = flipBit(flipped[200]!, 30, 2);
    assertRejected(await next(flipped), 'flipped bit in a new entry', half + 200);
    assertRejected(await next(l.texts.slice(half + 1)), 'first new entry deleted', half);
    const bad = resume.frontier.map((h) => h.slice());
    bad[0]![0]! ^= 1;
    assertRejected(await next(l.texts.slice(half), { frontier: bad }), 'corrupted saved frontier');
    // The log rewrote an old entry and re-signed: the new checkpoint is not an extension of the saved state.
    const rewritten = l.texts.slice();
    rewritten[10] = canonicalJson({ ...l.entries[10]!, reason: 'rewritten later' });
    const tree = new MemoryTree(hasher);
    for (const t of rewritten) tree.appendData(utf8(t));
    const forked = signNote(formatCheckpoint({ origin: ORIGIN, size: 1000, rootHash: tree.root(), extensions: [] }), [l.logSigner]);
    assertRejected(await next(l.texts.slice(half), { checkpoint: forked }), 'old entry rewritten and re-signed');
    await assert.rejects(next(l.texts.slice(half), { trusted: l.checkpointAt(half + 1) }), /needs the checkpoint of that size/);
  });
});

describe('ledger mutation suite: proofs with a single corruption', () => {
  test('every inclusion and consistency proof corruption is rejected (sizes up to 10,000)', () => {
    const hasherCheck = (fn: () => void) => {
      try {
        fn();
        return false;
      } catch {
        return true;
      }
    };
    for (const [size, l] of ledgers) {
      const root = treeRoot(hasher, l.tree, size);
      for (const p of positions(size)) {
        const leaf = l.tree.perfect(0, p);
        const proof = inclusionProof(hasher, l.tree, p, size);
        verifyInclusion(hasher, p, size, leaf, proof, root);
        const bad: Array<[string, () => void]> = [
          ['index-1', () => verifyInclusion(hasher, p - 1, size, leaf, proof, root)],
          ['index+1', () => verifyInclusion(hasher, p + 1, size, leaf, proof, root)],
          ['size*2', () => verifyInclusion(hasher, p, size * 2, leaf, proof, root)],
          ['size/2', () => verifyInclusion(hasher, p, Math.floor(size / 2), leaf, proof, root)],
          ['node added', () => verifyInclusion(hasher, p, size, leaf, [...proof, root], root)],
          ['node added front', () => verifyInclusion(hasher, p, size, leaf, [root, ...proof], root)],
        ];
        if (proof.length > 0) bad.push(['node removed', () => verifyInclusion(hasher, p, size, leaf, proof.slice(0, -1), root)]);
        proof.forEach((node, i) => {
          for (const bit of [0, 7]) {
            const wrong = proof.slice();
            const flipped = node.slice();
            flipped[i % 32]! ^= 1 << bit;
            wrong[i] = flipped;
            bad.push([`flip node ${i} bit ${bit}`, () => verifyInclusion(hasher, p, size, leaf, wrong, root)]);
          }
        });
        const accepted = bad.filter(([, fn]) => !hasherCheck(fn)).map(([n]) => n);
        assert.deepEqual(accepted, [], `size ${size} leaf ${p}: corrupted inclusion proofs accepted`);

        const m = p + 1;
        if (m >= size) continue;
        const r1 = treeRoot(hasher, l.tree, m);
        const cproof = consistencyProof(hasher, l.tree, m, size);
        verifyConsistency(hasher, m, size, cproof, r1, root);
        const cbad: Array<[string, () => void]> = [
          ['from-1', () => verifyConsistency(hasher, m - 1, size, cproof, r1, root)],
          ['from+1', () => verifyConsistency(hasher, m + 1, size, cproof, r1, root)],
          ['to*2', () => verifyConsistency(hasher, m, size * 2, cproof, r1, root)],
          ['to/2', () => verifyConsistency(hasher, m, Math.floor(size / 2), cproof, r1, root)],
          ['node added', () => verifyConsistency(hasher, m, size, [...cproof, root], r1, root)],
          ['node added front', () => verifyConsistency(hasher, m, size, [r1, ...cproof], r1, root)],
          ['node removed', () => verifyConsistency(hasher, m, size, cproof.slice(0, -1), r1, root)],
          ['swapped roots', () => verifyConsistency(hasher, m, size, cproof, root, r1)],
        ];
        cproof.forEach((node, i) => {
          for (const bit of [0, 7]) {
            const wrong = cproof.slice();
            const flipped = node.slice();
            flipped[i % 32]! ^= 1 << bit;
            wrong[i] = flipped;
            cbad.push([`flip node ${i} bit ${bit}`, () => verifyConsistency(hasher, m, size, wrong, r1, root)]);
          }
        });
        const caccepted = cbad.filter(([, fn]) => !hasherCheck(fn)).map(([n]) => n);
        assert.deepEqual(caccepted, [], `size ${size} ${m}→${size}: corrupted consistency proofs accepted`);
      }
    }
  });
});
