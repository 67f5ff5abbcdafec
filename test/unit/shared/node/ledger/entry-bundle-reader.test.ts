import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { TextDecoder } from 'node:util';
import { canonicalJson } from '../../../../../shared/canonical-json';
import { toBase64, utf8 } from '../../../../../shared/bytes';
import { SemanticAuditor } from '../../../../../shared/ledger/semantic-audit';
import { entryBundle, TILE_WIDTH } from '../../../../../shared/ledger/tlog-tiles';
import { checkEntryBytes, LedgerVerifier, verifyLedger, type LedgerVerdict } from '../../../../../shared/ledger/verify-ledger';
import { EntryBundleCursor, readEntryBundle } from '../../../../../shared/node/ledger/entry-bundle-reader';
import { nodeSha256, nodeTreeHasher as hasher } from '../../../../../shared/node/ledger/node-crypto';
import { verifyDecisionBundle } from '../../../../../shared/node/signing/verify-decision';
import { buildSyntheticLedger, type SyntheticLedger } from '../../../../fixtures/ledger/synthetic-ledger';

/**
 * `ledger verify` reads an auditor's ledger as tlog-tiles entry bundles (the exact entry bytes,
 * hashed as they came): the verdict, first bad entry and audit are the ones of the entry texts
 * verified in one thread, and bytes that are no entry's canonical UTF-8 are refused.
 */
let ledger: SyntheticLedger;

before(async () => {
  ledger = await buildSyntheticLedger(1300, { decisionEvery: 250, checkpointEvery: 700 });
});

const newAuditor = () => new SemanticAuditor({ sha256: nodeSha256 });

/** The bundles the store would serve for these entries (each buffer its own, as fetched). */
function bundles(entries: readonly Uint8Array[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (let from = 0; from < entries.length; from += TILE_WIDTH) out.push(entryBundle(entries.slice(from, from + TILE_WIDTH)).slice().buffer as ArrayBuffer);
  return out;
}

async function viaBundles(entries: readonly Uint8Array[]): Promise<LedgerVerdict> {
  const verifier = new LedgerVerifier({ hasher, logKey: ledger.logKey, verifyDecision: verifyDecisionBundle, auditor: newAuditor() }, { checkpoint: ledger.checkpointAt(ledger.texts.length) });
  bundles(entries).forEach((body, index) => {
    const width = Math.min(TILE_WIDTH, entries.length - index * TILE_WIDTH);
    readEntryBundle(body, index, width).forEach((e, i) => verifier.addChecked(checkEntryBytes(e.text, e.leaf, index * TILE_WIDTH + i)));
  });
  return verifier.finish();
}

function inThread(texts: readonly string[]): Promise<LedgerVerdict> {
  return verifyLedger({ entryTexts: texts, checkpoint: ledger.checkpointAt(ledger.texts.length) }, { hasher, logKey: ledger.logKey, verifyDecision: verifyDecisionBundle, auditor: newAuditor() });
}

function summary(v: LedgerVerdict): unknown {
  return v.ok ? { ok: true, root: v.rootHash, decisions: v.decisionsVerified, size: v.treeSize, audit: v.audit } : { ok: false, problem: v.problem, audit: v.audit };
}

describe('entry bundles read by the ledger verifier', () => {
  test('the untouched ledger: the verdict, root, decisions and audit of the texts verified in one thread; leaves are SHA-256(0x00 ‖ bytes)', async () => {
    const expected = await inThread(ledger.texts);
    assert.ok(expected.ok, !expected.ok ? expected.problem.message : '');
    assert.deepEqual(summary(await viaBundles(ledger.texts.map(utf8))), summary(expected));
    const [first] = readEntryBundle(bundles(ledger.texts.map(utf8))[0]!, 0, TILE_WIDTH);
    assert.deepEqual(first!.leaf, hasher.leaf(utf8(ledger.texts[0]!)));
    assert.equal(first!.text, ledger.texts[0]);
  });

  test('a damaged entry is named as in one thread; bytes no text encodes to, and a redacted stand-in, are malformed entries', async () => {
    const at = 1000;
    const original = ledger.texts[at]!;
    const cases: Record<string, string> = {
      // Without the log's history a changed root is only bounded, not named: the same bound both ways.
      altered: original.replace('"sourceAddress":"127.0.0.1"', '"sourceAddress":"127.0.0.2"'),
      'not JSON': original.slice(0, -1),
      'not canonical': original.replace('{"actor"', '{ "actor"'),
      'wrong seq': original.replace(`"seq":${at}`, `"seq":${at + 1}`),
    };
    for (const [what, text] of Object.entries(cases)) {
      assert.notEqual(text, original, what);
      const expected = await inThread(ledger.texts.map((t, i) => (i === at ? text : t)));
      assert.equal(expected.ok, false, what);
      assert.deepEqual(summary(await viaBundles(ledger.texts.map((t, i) => utf8(i === at ? text : t)))), summary(expected), what);
    }
    const bytesCases: Record<string, Uint8Array> = {
      // 0xff is never UTF-8: decoded with replacement characters it would be another text than the bytes hashed.
      'invalid UTF-8': Uint8Array.from([...utf8(original).subarray(0, 20), 0xff, ...utf8(original).subarray(21)]),
      // A byte order mark is not JSON whitespace: no canonical entry starts with one.
      'a byte order mark': Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8(original)]),
      // In a page a stand-in brings the leaf of the entry it hides; in a bundle the bytes are the entry.
      'a redacted stand-in': utf8(canonicalJson({ leafHash: toBase64(hasher.leaf(utf8(original))), redacted: true, seq: at })),
    };
    for (const [what, bytes] of Object.entries(bytesCases)) {
      const verdict = await viaBundles(ledger.texts.map((t, i) => (i === at ? bytes : utf8(t))));
      assert.equal(verdict.ok, false, what);
      // (The root no longer matches either: without the log's history that is bounded from seq 0.)
      assert.deepEqual(!verdict.ok && verdict.problems.filter((p) => p.seq === at).map((p) => p.code), ['entry_malformed'], what);
    }
  });

  test('a bundle cut short, or holding another number of entries than asked, is refused naming it', () => {
    const body = bundles(ledger.texts.slice(0, 3).map(utf8))[0]!;
    assert.throws(() => readEntryBundle(body.slice(0, body.byteLength - 5), 7, 3), /entry bundle 7 is cut short inside entry 1794/);
    assert.throws(() => readEntryBundle(body.slice(0), 7, 4), /entry bundle 7 \(entries from 1792\) holds 3 entries, not the 4 asked for/);
    assert.equal(readEntryBundle(body.slice(0), 7, 3).length, 3);
  });

  test('several full bundles concatenated (/v1/ledger/entry-bundles) read as the bundles one by one; counted and cut short as a whole, naming the bundle', () => {
    const texts = ledger.texts.slice(0, 3 * TILE_WIDTH);
    const parts = bundles(texts.map(utf8));
    const run = () => Buffer.concat(parts.map((b) => new Uint8Array(b))).buffer.slice(0) as ArrayBuffer;
    const cursor = new EntryBundleCursor(run(), 4, 3 * TILE_WIDTH, 3);
    const read: Array<{ text: string | null; leaf: string }> = [];
    while (cursor.next()) read.push({ text: cursor.text, leaf: Buffer.from(cursor.leaf).toString('hex') });
    const oneByOne = parts.flatMap((b, i) => readEntryBundle(b.slice(0), 4 + i, TILE_WIDTH)).map((e) => ({ text: e.text, leaf: Buffer.from(e.leaf).toString('hex') }));
    assert.deepEqual(read, oneByOne);
    assert.deepEqual(read.map((e) => e.text), texts);
    const drain = (c: EntryBundleCursor) => {
      while (c.next());
    };
    assert.throws(() => drain(new EntryBundleCursor(run(), 4, 4 * TILE_WIDTH, 4)), /entry bundles 4\.\.7 \(entries from 1024\) hold 768 entries, not the 1024 asked for/);
    const body = run();
    assert.throws(() => drain(new EntryBundleCursor(body.slice(0, body.byteLength - 3), 4, 3 * TILE_WIDTH, 3)), /entry bundle 6 is cut short inside entry 1791/);
    assert.throws(() => drain(new EntryBundleCursor(body.slice(0, parts[0]!.byteLength + 1), 4, 3 * TILE_WIDTH, 3)), /entry bundle 5 is cut short inside entry 1280/);
  });

  test("an entry's text is the strict UTF-8 decoding of its bytes, or null: malformed sequences, a real U+FFFD, a BOM, every kind of character", () => {
    const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const cases: number[][] = [
      [0x7b, 0x7d],
      [0xef, 0xbf, 0xbd], // U+FFFD itself: valid
      [0x61, 0xef, 0xbf, 0xbd, 0x62],
      [0xef, 0xbb, 0xbf, 0x7b, 0x7d], // BOM kept
      [0xc3, 0xa9, 0xe6, 0x97, 0xa5, 0xf0, 0x9d, 0x84, 0x9e], // é 日 𝄞
      [0xff],
      [0xc0, 0xaf], // overlong
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // a surrogate
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
      [0xe6, 0x97], // cut short
      [0x61, 0x80, 0x62], // a lone continuation byte
      [0xf0, 0x9d, 0x84], // cut short at the end
      [],
    ];
    // And random bytes, mostly ASCII with some high ones.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) & 0xff;
    for (let i = 0; i < 2000; i++) cases.push(Array.from({ length: 1 + (rnd() % 12) }, () => (rnd() < 200 ? 0x20 + (rnd() % 0x5f) : 0x80 + (rnd() % 0x80))));
    const body = entryBundle(cases.map((c) => Uint8Array.from(c))).slice().buffer as ArrayBuffer;
    const cursor = new EntryBundleCursor(body, 0, cases.length, Math.ceil(cases.length / TILE_WIDTH));
    for (const bytes of cases) {
      assert.ok(cursor.next());
      let expected: string | null;
      try {
        expected = strict.decode(Uint8Array.from(bytes));
      } catch {
        expected = null;
      }
      assert.equal(cursor.text, expected, Buffer.from(bytes).toString('hex'));
      assert.deepEqual(cursor.leaf, hasher.leaf(Uint8Array.from(bytes)));
    }
    assert.equal(cursor.next(), false);
  });
});
