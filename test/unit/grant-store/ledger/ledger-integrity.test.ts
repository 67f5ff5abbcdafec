import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../../../shared/canonical-json';
import { bytesEqual, utf8 } from '../../../../shared/bytes';
import { formatCheckpoint } from '../../../../shared/ledger/checkpoint';
import { MemoryTree } from '../../../../shared/ledger/memory-tree';
import { signNote } from '../../../../shared/ledger/signed-note';
import { treeRoot } from '../../../../shared/ledger/proofs';
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { entryBindingStatement, legacyEntryBindingMessage } from '../../../../shared/ledger/entry-binding';
import { logKeyEntryBinder, ed25519NoteVerifier, nodeTreeHasher as hasher } from '../../../../shared/node/ledger/node-crypto';
import { checkLedgerAtStart, type LedgerCheckSource, type LedgerRow } from '../../../../grant-store/ledger/ledger-integrity';
import type { SignedCheckpoint } from '../../../../grant-store/storage/log-tables';
import { buildSyntheticLedger, ORIGIN, type SyntheticLedger } from '../../../fixtures/ledger/synthetic-ledger';

// The start-up check against every way of editing the log's tables behind the store's back.

const N = 40;

describe('ledger check at start', () => {
  let l: SyntheticLedger;
  let binder: ReturnType<typeof logKeyEntryBinder>;

  before(async () => {
    l = await buildSyntheticLedger(N, { decisionEvery: 5 });
    binder = logKeyEntryBinder(ORIGIN, l.logPrivateKeyPem);
  });

  /** A store's tables: rows (with bindings), stored nodes, checkpoints; `edit` tampers with them. */
  function tables(
    opts: {
      checkpointSize?: number | null;
      texts?: string[];
      bindings?: Array<Uint8Array | null>;
      nodes?: MemoryTree | null;
      /** The stored hash of a node, when it differs from the node table's (an edited or deleted ledger_nodes row). */
      stored?: (level: number, index: number, hash: Uint8Array | undefined) => Uint8Array | undefined;
      /** Another ledger than the 40-entry one (the checkpoint then leaves its last 3 rows out too). */
      ledger?: SyntheticLedger;
    } = {},
  ): LedgerCheckSource {
    const ledger = opts.ledger ?? l;
    const texts = opts.texts ?? ledger.texts;
    const bindings = opts.bindings ?? texts.map((t, seq) => binder.bind(seq, hasher.leaf(utf8(t))));
    const rows: LedgerRow[] = texts.map((text, seq) => ({ seq, text, binding: bindings[seq] ?? null }));
    const nodes = opts.nodes === undefined ? ledger.tree : opts.nodes;
    const storedNode = (level: number, index: number) => {
      const hash = nodes && (index + 1) * 2 ** level <= nodes.size ? nodes.perfect(level, index) : undefined;
      return opts.stored ? opts.stored(level, index, hash) : hash;
    };
    const size = opts.checkpointSize === undefined ? ledger.texts.length - 3 : opts.checkpointSize;
    const checkpoint: SignedCheckpoint | undefined =
      size === null ? undefined : { id: 7, treeSize: size, rootHash: treeRoot(hasher, ledger.tree, size), note: ledger.checkpointAt(size), signedAt: '2026-03-01T09:00:40.000Z' };
    return {
      rows: async (from, limit) => rows.filter((r) => r.seq >= from).slice(0, limit),
      texts: async (from, count) => rows.filter((r) => r.seq >= from && r.seq < from + count).map((r) => r.text),
      compareStored: async (level, from, hashes) => {
        let stored = 0;
        let firstDifference: number | null = null;
        for (let i = 0; i < hashes.length / 32; i++) {
          const hash = storedNode(level, from + i);
          if (!hash) continue;
          stored++;
          if (firstDifference === null && !bytesEqual(hash, hashes.subarray(i * 32, i * 32 + 32))) firstDifference = from + i;
        }
        return { stored, firstDifference };
      },
      storedLeafCount: () => nodes?.size ?? 0,
      storedNode,
      latestCheckpoint: () => checkpoint,
    };
  }

  const check = (source: LedgerCheckSource, ledger = l) => checkLedgerAtStart(source, { hasher, logKey: ledger.logKey, binder, page: 7 });

  test('a data dir naming the log differently from the checkpoints this same key signed stops start-up with what to fix; another key still halts', async () => {
    const publicPem = createPublicKey(l.logPrivateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
    const verifierFor = (origin: string) => ed25519NoteVerifier(origin, publicPem);
    const misnamed = { hasher, logKey: verifierFor('breakglass.local/another-name'), verifierFor, binder, page: 7 };
    await assert.rejects(checkLedgerAtStart(tables(), misnamed), (error: Error) => {
      assert.match(error.message, new RegExp(`names its log "breakglass.local/another-name", but the database's log is "${ORIGIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
      assert.match(error.message, /log-origin/);
      return true;
    });
    // The same name with another key is not a configuration slip: the checkpoint is not this log's, so it halts.
    const otherPem = createPublicKey((await buildSyntheticLedger(1)).logPrivateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
    const r = await checkLedgerAtStart(tables(), { hasher, logKey: ed25519NoteVerifier('breakglass.local/another-name', otherPem), verifierFor: (o) => ed25519NoteVerifier(o, otherPem), binder, page: 7 });
    assert.equal(r.halt?.table, 'ledger_checkpoints');
    assert.match(r.halt!.reason, /is not a checkpoint this log signed/);
  });

  test('an untouched ledger passes: rows under the checkpoint reproduce its root, the rows after it are bound; the projection is built', async () => {
    const r = await check(tables());
    assert.equal(r.halt, null, r.halt?.reason);
    assert.deepEqual([r.size, r.checkpointSize, r.boundRows, r.projection.size], [N, N - 3, 3, N]);
    assert.equal(r.projection.keys.size, 2);
  });

  test('rows appended behind the store\'s back (no binding, or one not made with the log key) are refused at the first of them', async () => {
    const forged = canonicalJson({ ...l.entries[5]!, seq: N, reason: 'forged enrollment' });
    const texts = [...l.texts, forged, canonicalJson({ ...l.entries[6]!, seq: N + 1 })];
    const bindings = [...l.texts.map((t, seq) => binder.bind(seq, hasher.leaf(utf8(t)))), null, null];
    const r = await check(tables({ texts, bindings }));
    assert.deepEqual([r.halt?.seq, r.halt?.table], [N, 'ledger_entries']);
    assert.match(r.halt!.reason, /carries no binding/);
    const wrongKey = logKeyEntryBinder(ORIGIN, (await buildSyntheticLedger(1)).logPrivateKeyPem);
    const r2 = await check(tables({ texts, bindings: [...bindings.slice(0, N), wrongKey.bind(N, hasher.leaf(utf8(forged))), null] }));
    assert.equal(r2.halt?.seq, N);
    assert.match(r2.halt!.reason, /binding does not verify/);
  });

  test('an edited row past the checkpoint fails its binding; under the checkpoint it fails the signed root and is named by its stored leaf', async () => {
    const after = l.texts.map((t, i) => (i === N - 2 ? t.replace('payments', 'paymentz') : t));
    const bindings = l.texts.map((t, seq) => binder.bind(seq, hasher.leaf(utf8(t))));
    const r = await check(tables({ texts: after, bindings }));
    assert.deepEqual([r.halt?.seq, r.halt?.table], [N - 2, 'ledger_entries']);
    const under = l.texts.map((t, i) => (i === 11 ? t.replace('payments', 'paymentz') : t));
    const r2 = await check(tables({ texts: under, bindings }));
    assert.deepEqual([r2.halt?.seq, r2.halt?.table], [11, 'ledger_entries']);
    assert.match(r2.halt!.reason, /row 11 differs from the leaf the log stored/);
    // A careful attacker also rebuilds the node table from the edited rows: the signed root still says no.
    const rebuilt = new MemoryTree(hasher, under.map((t) => hasher.leaf(utf8(t))));
    const r3 = await check(tables({ texts: under, bindings, nodes: rebuilt }));
    assert.equal(r3.halt?.table, 'ledger_entries');
    assert.match(r3.halt!.reason, /hash to .* but checkpoint 7 .* says/);
  });

  test('a deleted last row, a deleted middle row, a wiped checkpoint table and a wiped node table are each refused', async () => {
    const last = await check(tables({ texts: l.texts.slice(0, N - 1), checkpointSize: N }));
    assert.deepEqual([last.halt?.seq, last.halt?.table], [N - 1, 'ledger_entries']);
    assert.match(last.halt!.reason, /covers 40 entries but the table holds 39: rows 39\.\.39 were deleted/);
    const middle = await check(tables({ texts: l.texts.filter((_, i) => i !== 20) }));
    // The row numbers stay (seq is the primary key): row 20 is simply gone.
    assert.equal(middle.halt?.seq, 20);
    const wipedCheckpoints = await check(tables({ checkpointSize: null }));
    assert.deepEqual([wipedCheckpoints.halt?.seq, wipedCheckpoints.halt?.table], [0, 'ledger_checkpoints']);
    const wipedNodes = await check(tables({ nodes: null }));
    assert.deepEqual([wipedNodes.halt?.seq, wipedNodes.halt?.table], [0, 'ledger_nodes']);
    // A checkpoint row whose note another key signed (an inserted checkpoint) is refused too.
    const source = tables();
    const other = await buildSyntheticLedger(N, { decisionEvery: 5 });
    const forgedNote = signNote(formatCheckpoint({ origin: ORIGIN, size: N, rootHash: treeRoot(hasher, l.tree, N), extensions: [] }), [other.logSigner]);
    const forged = await check({ ...source, latestCheckpoint: () => ({ id: 8, treeSize: N, rootHash: treeRoot(hasher, l.tree, N), note: forgedNote, signedAt: 'x' }) });
    assert.equal(forged.halt?.table, 'ledger_checkpoints');
  });

  test('a stored leaf hash rewritten or deleted in ledger_nodes (the rows untouched) is refused, naming the row', async () => {
    const edited = await check(tables({ stored: (level, index, hash) => (level === 0 && index === 23 ? new Uint8Array(32).fill(7) : hash) }));
    assert.deepEqual([edited.halt?.seq, edited.halt?.table], [23, 'ledger_nodes']);
    assert.match(edited.halt!.reason, /the stored leaf hash of row 23 is not the hash of the row/);
    // Deleted: proofs of its neighbour could no longer be served. Named by the page (of 7 rows here) it is missing from.
    const deleted = await check(tables({ stored: (level, index, hash) => (level === 0 && index === 23 ? undefined : hash) }));
    assert.deepEqual([deleted.halt?.seq, deleted.halt?.table], [21, 'ledger_nodes']);
    assert.match(deleted.halt!.reason, /ledger_nodes holds 6 of the 7 leaf hashes of rows 21\.\.27 \(and 40 in all\): leaf hashes were deleted/);
    // Past the checkpoint too (the log's own leaves there are persisted with the next checkpoint).
    const late = await check(tables({ stored: (level, index, hash) => (level === 0 && index === N - 1 ? undefined : hash) }));
    assert.equal(late.halt?.table, 'ledger_nodes');
  });

  test('a stored node of a tile level (8, 16, …: tiles and proofs are served from them) rewritten or deleted is refused', async () => {
    // 600 rows: two complete level-8 subtrees, the checkpoint at 597.
    const big = await buildSyntheticLedger(600, { decisionEvery: 50 });
    const clean = await check(tables({ ledger: big }), big);
    assert.equal(clean.halt, null, clean.halt?.reason);
    const edited = await check(tables({ ledger: big, stored: (level, index, hash) => (level === 8 && index === 1 ? new Uint8Array(32).fill(7) : hash) }), big);
    assert.deepEqual([edited.halt?.seq, edited.halt?.table], [null, 'ledger_nodes']);
    assert.match(edited.halt!.reason, /the stored hash of tree level 8, index 1 \(rows 256\.\.511\) is not the hash of those rows: the node table was edited/);
    const deleted = await check(tables({ ledger: big, stored: (level, index, hash) => (level === 8 && index === 0 ? undefined : hash) }), big);
    assert.equal(deleted.halt?.table, 'ledger_nodes');
    assert.match(deleted.halt!.reason, /ledger_nodes lacks hashes of tree level 8 from index 0 on/);
    // An interior node of another level is not served (proofs are hashed from the tiles): the frontier check covers the ones the log extends.
    const other = await check(tables({ ledger: big, stored: (level, index, hash) => (level === 3 && index === 5 ? new Uint8Array(32).fill(7) : hash) }), big);
    assert.equal(other.halt, null, other.halt?.reason);
  });

  test('a tile-level node past the checkpoint missing (a crash between two slices of the log\'s node writes) is no tampering; rewritten, or under the checkpoint, it is', async () => {
    const big = await buildSyntheticLedger(600, { decisionEvery: 50 });
    // Signed up to 500: node 8/1 (rows 256..511) is past the checkpoint; its leaves are stored.
    const missing = await check(tables({ ledger: big, checkpointSize: 500, stored: (level, index, hash) => (level === 8 && index === 1 ? undefined : hash) }), big);
    assert.equal(missing.halt, null, missing.halt?.reason);
    assert.deepEqual([missing.size, missing.checkpointSize], [600, 500]);
    const rewritten = await check(tables({ ledger: big, checkpointSize: 500, stored: (level, index, hash) => (level === 8 && index === 1 ? new Uint8Array(32).fill(7) : hash) }), big);
    assert.match(rewritten.halt!.reason, /the stored hash of tree level 8, index 1 \(rows 256\.\.511\) is not the hash of those rows/);
    // Node 8/0 is under the checkpoint: missing, with node 8/1 missing too, it is the node table's tampering.
    const under = await check(tables({ ledger: big, checkpointSize: 500, stored: (level, index, hash) => (level === 8 && index <= 1 ? undefined : hash) }), big);
    assert.match(under.halt!.reason, /ledger_nodes lacks hashes of tree level 8 from index 0 on/);
  });

  test('a row past the checkpoint is read once: its binding is checked over the bytes that are hashed and projected', async () => {
    const source = tables();
    let reads = 0;
    const edited = l.texts[N - 1]!.replace('payments', 'paymentz');
    const racing: LedgerCheckSource = {
      ...source,
      // The first read of the last row gives the bound bytes, every later one an edit.
      rows: async (from, limit) => (await source.rows(from, limit)).map((r) => (r.seq === N - 1 && reads++ > 0 ? { ...r, text: edited } : r)),
    };
    const r = await check(racing);
    assert.deepEqual([r.halt, reads], [null, 1]);
  });

  test('bindings from before v2 (Ed25519 signatures by the log key) still verify; one by another key, over another row or the v2 statement does not', async () => {
    const privateKey = createPrivateKey(l.logPrivateKeyPem);
    const leafOf = (seq: number) => hasher.leaf(utf8(l.texts[seq]!));
    const legacy = (seq: number, key = privateKey, message = legacyEntryBindingMessage(ORIGIN, seq, leafOf(seq))) => new Uint8Array(sign(null, message, key));
    // Rows N-3..N-1 are past the checkpoint: two bound the old way, one the new.
    const bindings = l.texts.map((t, seq) => (seq >= N - 3 && seq < N - 1 ? legacy(seq) : binder.bind(seq, hasher.leaf(utf8(t)))));
    const r = await check(tables({ bindings }));
    assert.equal(r.halt, null, r.halt?.reason);
    assert.equal(r.boundRows, 3);
    const otherKey = createPrivateKey((await buildSyntheticLedger(1)).logPrivateKeyPem);
    for (const bad of [legacy(N - 2, otherKey), legacy(N - 3), legacy(N - 2, privateKey, utf8(entryBindingStatement(ORIGIN, N - 2, leafOf(N - 2)))), legacy(N - 2).subarray(0, 63)]) {
      const tampered = await check(tables({ bindings: bindings.map((b, seq) => (seq === N - 2 ? bad : b)) }));
      assert.deepEqual([tampered.halt?.seq, tampered.halt?.table], [N - 2, 'ledger_entries']);
      assert.match(tampered.halt!.reason, /binding does not verify/);
    }
  });
});
