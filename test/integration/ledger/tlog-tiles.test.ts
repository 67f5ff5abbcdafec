import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { verifyNote } from '../../../shared/ledger/signed-note';
import { ed25519NoteVerifier } from '../../../shared/node/ledger/node-crypto';
import { fileAndDecide, startLedgerWorld, type LedgerWorld } from './ledger-harness';

/**
 * Issue 16: the ledger as C2SP tlog-tiles, read by a tile reader written here from the spec
 * (https://c2sp.org/tlog-tiles, RFC 6962 hashing), not the store's code: the checkpoint's root
 * and an inclusion proof of every entry are recomputed from tiles and entry bundles alone.
 */

const PREFIX = '/v1/ledger/tlog';

/** N in 3-digit groups, every group but the last prefixed "x" (spec: "Merkle Tree" paths). */
function indexPath(n: number): string {
  const groups: string[] = [];
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const leafHash = (entry: Uint8Array) => sha256(Uint8Array.of(0), entry);
const nodeHash = (l: Uint8Array, r: Uint8Array) => sha256(Uint8Array.of(1), l, r);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A tile client: fetches the tile of tree level 8·L holding index i at the width tree size n allows. */
class TileReader {
  readonly fetched: string[] = [];
  private readonly cache = new Map<string, Uint8Array>();
  constructor(
    private readonly get: (path: string) => Promise<{ status: number; bytes: Uint8Array; cacheControl: string | null }>,
    private readonly size: number,
  ) {}

  private async tile(level: number | 'entries', index: number): Promise<Uint8Array> {
    const per = level === 'entries' ? 1 : 256 ** level;
    const width = Math.min(256, Math.floor(this.size / per) - index * 256);
    const path = `tile/${level}/${indexPath(index)}${width === 256 ? '' : `.p/${width}`}`;
    const hit = this.cache.get(path);
    if (hit) return hit;
    const r = await this.get(path);
    assert.equal(r.status, 200, `${path}: HTTP ${r.status}`);
    if (width === 256) assert.match(r.cacheControl ?? '', /immutable/, `${path} is full: cached as immutable`);
    if (level !== 'entries') assert.equal(r.bytes.length, 32 * width, `${path}: ${width} hashes of 32 bytes`);
    this.fetched.push(path);
    this.cache.set(path, r.bytes);
    return r.bytes;
  }

  /** Entries 256·k … from an entry bundle: 2-byte big-endian length, then the bytes. */
  async entry(seq: number): Promise<Uint8Array> {
    const bundle = await this.tile('entries', Math.floor(seq / 256));
    let at = 0;
    for (let i = 0; ; i++) {
      assert.ok(at + 2 <= bundle.length, `entry bundle ends before entry ${seq}`);
      const len = (bundle[at]! << 8) | bundle[at + 1]!;
      if (i === seq % 256) return bundle.slice(at + 2, at + 2 + len);
      at += 2 + len;
    }
  }

  /** The hash of the perfect subtree of height h at index i (covering leaves i·2^h … (i+1)·2^h − 1). */
  async perfect(h: number, i: number): Promise<Uint8Array> {
    const L = Math.floor(h / 8);
    const sub = h % 8;
    const first = i * 2 ** sub;
    const tile = await this.tile(L, Math.floor(first / 256));
    const at = first % 256;
    let level = Array.from({ length: 2 ** sub }, (_, k) => tile.slice(32 * (at + k), 32 * (at + k + 1)));
    while (level.length > 1) level = Array.from({ length: level.length / 2 }, (_, k) => nodeHash(level[2 * k]!, level[2 * k + 1]!));
    return level[0]!;
  }

  /** RFC 6962 MTH of leaves [lo, hi), from perfect subtrees read out of tiles. */
  async range(lo: number, hi: number): Promise<Uint8Array> {
    const n = hi - lo;
    if ((n & (n - 1)) === 0 && lo % n === 0) return this.perfect(Math.log2(n), lo / n);
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(await this.range(lo, lo + k), await this.range(lo + k, hi));
  }

  /** RFC 6962 PATH(m, D[lo:hi]). */
  async path(m: number, lo: number, hi: number): Promise<Uint8Array[]> {
    const n = hi - lo;
    if (n === 1) return [];
    let k = 1;
    while (k * 2 < n) k *= 2;
    if (m < lo + k) return [...(await this.path(m, lo, lo + k)), await this.range(lo + k, hi)];
    return [...(await this.path(m, lo + k, hi)), await this.range(lo, lo + k)];
  }
}

/** RFC 9162 §2.1.3.2: the root from a leaf hash and its inclusion path. */
function rootFromInclusion(index: number, size: number, leaf: Uint8Array, proof: Uint8Array[]): Uint8Array {
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    assert.ok(sn > 0, 'proof too long');
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else r = nodeHash(r, p);
    fn >>= 1;
    sn >>= 1;
  }
  assert.equal(sn, 0, 'proof too short');
  return r;
}

describe('the ledger as C2SP tlog-tiles, read by an independent tile reader', { concurrency: false }, () => {
  let world: LedgerWorld;

  before(async () => {
    world = await startLedgerWorld();
    await fileAndDecide(world, 'bob', 'approve');
    const gate = await world.api<{ token: string }>('admin', 'POST', '/v1/admin/tokens', { principal: 'ci', roles: ['gate'] });
    world.tokens.gate = gate.body.token;
    // Warns under the active bypass until the log passes one full tile (256) and into the next.
    for (;;) {
      const size = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/entries?limit=1')).body.treeSize;
      if (size >= 300) break;
      await Promise.all(Array.from({ length: 20 }, () => world.api('gate', 'POST', '/v1/checks', { gate: 'ci-tests', subject: { repo: 'payments-api', branch: 'main' } })));
    }
  });

  after(async () => {
    await world?.store.close();
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  async function raw(path: string, who = 'erin'): Promise<{ status: number; bytes: Uint8Array; cacheControl: string | null }> {
    const res = await fetch(`${world.store.url}${PREFIX}/${path}`, { headers: { authorization: `Bearer ${world.tokens[who]}` } });
    return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), cacheControl: res.headers.get('cache-control') };
  }

  test('the checkpoint root and an inclusion proof of every entry verify from tiles alone', async () => {
    let note = '';
    let size = 0;
    for (let i = 0; i < 100 && size < 300; i++) {
      const r = await raw('checkpoint');
      assert.equal(r.status, 200);
      note = Buffer.from(r.bytes).toString('utf8');
      size = Number(note.split('\n')[1]);
      if (size < 300) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(size >= 300, `a checkpoint covers 300 entries (got ${size})`);
    const key = await world.api<{ origin: string; publicKeyPem: string }>('erin', 'GET', '/v1/ledger/public-key');
    verifyNote(note, [ed25519NoteVerifier(key.body.origin, key.body.publicKeyPem)]);
    const [origin, sizeLine, rootLine] = note.split('\n');
    assert.equal(origin, key.body.origin);
    assert.equal(Number(sizeLine), size);

    const reader = new TileReader(raw, size);
    const root = await reader.range(0, size);
    assert.equal(Buffer.from(root).toString('base64'), rootLine, 'the root recomputed from tiles is the signed one');

    for (const seq of [0, 1, 255, 256, size - 1, Math.floor(size / 2)]) {
      const entry = await reader.entry(seq);
      const parsed = JSON.parse(Buffer.from(entry).toString('utf8')) as { seq: number };
      assert.equal(parsed.seq, seq, `entry bundle position ${seq} holds entry ${seq}`);
      const leaf = leafHash(entry);
      assert.equal(hex(leaf), hex(await reader.perfect(0, seq)), `level-0 tile hash of ${seq} is the entry's leaf hash`);
      const proof = await reader.path(seq, 0, size);
      assert.equal(hex(rootFromInclusion(seq, size, leaf, proof)), hex(root), `inclusion of ${seq}`);
    }
    // Full level-0 tile 0 and entries 0 (immutable), partial tile 1 and the partial level-1 tile.
    assert.ok(reader.fetched.includes('tile/0/000'));
    assert.ok(reader.fetched.includes('tile/entries/000'));
    assert.ok(reader.fetched.some((p) => p.startsWith('tile/0/001.p/')));
    assert.ok(reader.fetched.includes('tile/1/000.p/1'));

    // An altered entry no longer matches its tile: the leaf check catches it.
    const tampered = await reader.entry(5);
    tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 1;
    assert.notEqual(hex(leafHash(tampered)), hex(await reader.perfect(0, 5)));
  });

  test('tiles beyond the checkpoint, malformed paths and callers without a ledger role are refused', async () => {
    const size = Number(Buffer.from((await raw('checkpoint')).bytes).toString('utf8').split('\n')[1]);
    const partial = size % 256;
    assert.equal((await raw('tile/0/001')).status, 404, 'tile 1 is not full yet');
    assert.equal((await raw(`tile/0/001.p/${partial + 1}`)).status, 404, 'wider than the checkpoint covers');
    assert.equal((await raw(`tile/0/001.p/${partial}`)).status, 200);
    assert.match((await raw(`tile/0/001.p/${partial}`)).cacheControl ?? '', /max-age=5/);
    for (const bad of ['tile/0/1', 'tile/0/x000/000', 'tile/64/000', 'tile/0/000.p/256', 'tile/0/000.p/0', 'tile/0/x1/000', 'tile/entries/01']) {
      assert.equal((await raw(bad)).status, 404, bad);
    }
    assert.equal((await raw('tile/0/000', 'alice')).status, 403);
    assert.equal((await raw('checkpoint', 'alice')).status, 403);
  });
});
