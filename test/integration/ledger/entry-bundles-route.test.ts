import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../cli/cli-harness';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { fileAndDecide, startLedgerWorld, type LedgerWorld } from './ledger-harness';

/**
 * `GET /v1/ledger/entry-bundles?start=N&count=K` (a Breakglass extension beside C2SP
 * tlog-tiles): K full entry bundles in one answer, byte for byte the concatenation of
 * tile/entries/N … N+K−1, on SQLite and on PostgreSQL; and `breakglass ledger verify` reading
 * full bundles through it, falling back to the C2SP paths on a store without it, and refusing
 * an answer cut short.
 */

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Entries of concatenated bundles, read here from the spec's framing (2-byte big-endian length, then the bytes). */
function entriesOf(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < body.length; ) {
    assert.ok(at + 2 <= body.length, 'cut inside a length');
    const len = (body[at]! << 8) | body[at + 1]!;
    assert.ok(at + 2 + len <= body.length, 'cut inside an entry');
    out.push(body.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

/** The bundles with the last evaluation's source address changed (127.0.0.1 → 127.0.0.2): same framing, another leaf. */
function alterOneEvaluation(body: Buffer): Buffer<ArrayBuffer> {
  const at = body.lastIndexOf('"sourceAddress":"127.0.0.1"', undefined, 'latin1');
  assert.ok(at >= 0, 'the bundles hold an evaluation from 127.0.0.1');
  const altered = Buffer.from(new Uint8Array(body));
  altered[at + '"sourceAddress":"127.0.0.'.length] = '2'.charCodeAt(0);
  return altered;
}

/** A world whose latest checkpoint covers two full entry bundles and part of a third (512 < size < 768). */
async function worldWithTwoFullBundles(databaseUrl?: string): Promise<{ world: LedgerWorld; size: number }> {
  const world = await startLedgerWorld(databaseUrl ? { databaseUrl } : {});
  await fileAndDecide(world, 'bob', 'approve');
  const gate = await world.api<{ token: string }>('admin', 'POST', '/v1/admin/tokens', { principal: 'ci', roles: ['gate'] });
  world.tokens.gate = gate.body.token;
  for (;;) {
    const size = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/entries?limit=1')).body.treeSize;
    if (size >= 540) break;
    await Promise.all(Array.from({ length: 20 }, () => world.api('gate', 'POST', '/v1/checks', { gate: 'ci-tests', subject: { repo: 'payments-api', branch: 'main' } })));
  }
  for (let i = 0; i < 100; i++) {
    const entries = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/entries?limit=1')).body.treeSize;
    const signed = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/checkpoint')).body.treeSize;
    if (signed >= entries) {
      assert.ok(signed > 512 && signed < 768, `the checkpoint covers two full bundles and part of a third (size ${signed})`);
      return { world, size: signed };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no checkpoint covered every entry within 10 s');
}

for (const backend of ['SQLite', 'PostgreSQL'] as const) {
  describe(`GET /v1/ledger/entry-bundles (${backend})`, { concurrency: false }, () => {
    let world: LedgerWorld;
    let size = 0;
    let db: TempDatabase | undefined;

    before(async () => {
      db = backend === 'PostgreSQL' ? await createTempDatabase('bg_entry_bundles') : undefined;
      ({ world, size } = await worldWithTwoFullBundles(db?.url));
    });

    after(async () => {
      await world?.store.close();
      if (world) await rm(world.tmp, { recursive: true, force: true });
      await db?.drop();
    });

    async function get(path: string, who = 'erin'): Promise<{ status: number; bytes: Uint8Array; cacheControl: string | null; type: string | null }> {
      const res = await fetch(`${world.store.url}${path}`, { headers: { authorization: `Bearer ${world.tokens[who]}` } });
      return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), cacheControl: res.headers.get('cache-control'), type: res.headers.get('content-type') };
    }

    test('full bundles start … start+count−1, byte for byte the C2SP bundles concatenated; each entry is the leaf the hash tiles hold', async () => {
      const [b0, b1] = [await get('/v1/ledger/tlog/tile/entries/000'), await get('/v1/ledger/tlog/tile/entries/001')];
      assert.equal(b0.status, 200);
      assert.equal(b1.status, 200);
      const both = await get('/v1/ledger/entry-bundles?start=0&count=2');
      assert.equal(both.status, 200);
      assert.match(both.type ?? '', /application\/octet-stream/);
      assert.match(both.cacheControl ?? '', /immutable/, 'full bundles never change');
      assert.equal(hex(both.bytes), hex(Buffer.concat([b0.bytes, b1.bytes])));
      const second = await get('/v1/ledger/entry-bundles?start=1&count=1');
      assert.equal(hex(second.bytes), hex(b1.bytes));

      // Read from the bytes alone: 512 entries, seq 0..511, each hashing to its level-0 tile hash.
      const entries = entriesOf(both.bytes);
      assert.equal(entries.length, 512);
      const tiles = Buffer.concat([(await get('/v1/ledger/tlog/tile/0/000')).bytes, (await get('/v1/ledger/tlog/tile/0/001')).bytes]);
      entries.forEach((entry, seq) => {
        assert.equal((JSON.parse(Buffer.from(entry).toString('utf8')) as { seq: number }).seq, seq);
        assert.equal(hex(sha256(Uint8Array.of(0), entry)), hex(tiles.subarray(32 * seq, 32 * seq + 32)), `leaf ${seq}`);
      });
      // A bundle read twice is cached by the store (EntryBundleCache): a run through it is the same bytes.
      await get('/v1/ledger/tlog/tile/entries/001');
      assert.equal(hex((await get('/v1/ledger/entry-bundles?start=0&count=2')).bytes), hex(both.bytes));
    });

    test('bundles the latest checkpoint does not cover in full are a 404; a bad start or count a 400; readers without the full view a 403', async () => {
      const full = Math.floor(size / 256);
      assert.equal(full, 2);
      for (const q of ['start=0&count=3', 'start=2&count=1', 'start=1&count=2', 'start=9007199254740991&count=1']) {
        assert.equal((await get(`/v1/ledger/entry-bundles?${q}`)).status, 404, q);
      }
      for (const q of ['start=0&count=0', 'start=0&count=17', 'start=-1&count=1', 'count=1', 'start=0', 'start=0&count=1&extra=1', 'start=a&count=1']) {
        assert.equal((await get(`/v1/ledger/entry-bundles?${q}`)).status, 400, q);
      }
      // Approvers read entries redacted where they may not see them, never whole bundles; requesters no ledger at all.
      assert.equal((await get('/v1/ledger/entry-bundles?start=0&count=1', 'bob')).status, 403);
      assert.equal((await get('/v1/ledger/entry-bundles?start=0&count=1', 'alice')).status, 403);
      assert.equal((await get('/v1/ledger/entry-bundles?start=0&count=1', 'admin')).status, 200);
    });
  });
}

describe('breakglass ledger verify reads full bundles several at a time', { concurrency: false }, () => {
  let world: LedgerWorld;
  let proxy: Server;
  let proxyUrl = '';
  let seen: string[] = [];
  /** How the proxy treats /v1/ledger/entry-bundles: passed through, absent (a store from before it), or cut short. */
  let mode: 'pass' | 'absent' | 'cut' | 'altered' = 'pass';

  before(async () => {
    ({ world } = await worldWithTwoFullBundles());
    proxy = createServer(async (req, res) => {
      seen.push(req.url ?? '');
      if (req.url?.startsWith('/v1/ledger/entry-bundles') && mode === 'absent') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'not_found', message: 'no route GET /v1/ledger/entry-bundles' } }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host') headers[k] = v;
      const upstream = await fetch(`${world.store.url}${req.url}`, { method: req.method, headers });
      let body = Buffer.from(await upstream.arrayBuffer());
      if (req.url?.startsWith('/v1/ledger/entry-bundles') && mode === 'cut' && upstream.ok) body = body.subarray(0, body.length - 10);
      if (req.url?.startsWith('/v1/ledger/entry-bundles') && mode === 'altered' && upstream.ok) body = alterOneEvaluation(body);
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(body);
    });
    proxy.listen(0, '127.0.0.1');
    await new Promise((resolve) => proxy.once('listening', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => proxy?.close(resolve));
    await world?.store.close();
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  const verify = (state: string) => runCli(['ledger', 'verify', '--json'], { BREAKGLASS_STORE: proxyUrl, BREAKGLASS_TOKEN: world.tokens.erin, XDG_STATE_HOME: join(world.tmp, state) });
  const bundlePaths = () => seen.filter((p) => p.startsWith('/v1/ledger/entry-bundles') || p.startsWith('/v1/ledger/tlog/tile/entries/'));

  test('the full bundles in one read, the partial last one from its C2SP path', async () => {
    mode = 'pass';
    seen = [];
    const r = await verify('state-pass');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok((JSON.parse(r.stdout) as { ok: boolean }).ok);
    assert.deepEqual(bundlePaths().map((p) => p.replace(/\.p\/\d+$/, '.p/W')), ['/v1/ledger/entry-bundles?start=0&count=2', '/v1/ledger/tlog/tile/entries/002.p/W']);
  });

  test('a store without the route: every bundle from its C2SP path, and the same verdict', async () => {
    mode = 'absent';
    seen = [];
    const r = await verify('state-absent');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok((JSON.parse(r.stdout) as { ok: boolean }).ok);
    assert.deepEqual(bundlePaths().map((p) => p.replace(/\.p\/\d+$/, '.p/W')), ['/v1/ledger/entry-bundles?start=0&count=2', '/v1/ledger/tlog/tile/entries/000', '/v1/ledger/tlog/tile/entries/001', '/v1/ledger/tlog/tile/entries/002.p/W']);
  });

  test('bundles that differ from the entry pages fail the run, even though the pages alone verify', async () => {
    // One evaluation's source address changed in the bundles only (same length, still a
    // well-formed entry): the bundles miss the signed root; the second read (entry pages, to
    // locate the mismatch) reproduces it. Two histories served for one log is never a pass.
    mode = 'altered';
    seen = [];
    const r = await verify('state-altered');
    assert.notEqual(r.code, 0, r.stdout);
    const out = JSON.parse(r.stdout) as { ok: boolean; code: string; reason: string };
    assert.equal(out.ok, false);
    assert.equal(out.code, 'root_mismatch');
    assert.match(out.reason, /entry bundles \(the C2SP tiles\) do not reproduce its signed checkpoint at size \d+, but a second read of its entry pages does/);
    assert.ok(seen.some((p) => p.startsWith('/v1/ledger/export')), 'the second read was of the entry pages');
    // Nothing was saved as verified: the next run starts from scratch and still fails.
    const again = await verify('state-altered');
    assert.notEqual(again.code, 0, again.stdout);
    // And with honest bundles the same state verifies.
    mode = 'pass';
    const honest = await verify('state-altered');
    assert.equal(honest.code, 0, honest.stdout + honest.stderr);
  });

  test('an answer cut short is refused, naming the bundle and the entry', async () => {
    mode = 'cut';
    seen = [];
    const r = await verify('state-cut');
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stdout + r.stderr, /the store's entry bundle 1 is cut short inside entry 511/);
  });
});
