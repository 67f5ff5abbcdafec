import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { fromBase64 } from '../../../shared/bytes';
import { parseCheckpoint } from '../../../shared/ledger/checkpoint';
import { verifyConsistency, verifyInclusion } from '../../../shared/ledger/proofs';
import { verifyNote } from '../../../shared/ledger/signed-note';
import { canonicalJson } from '../../../shared/canonical-json';
import { ed25519NoteVerifier, nodeTreeHasher as hasher, rawEd25519PublicKey } from '../../../shared/node/ledger/node-crypto';
import { machineLogOrigin } from '../../../grant-store/ledger/log-key';
import { fileAndDecide, sigstoreVerify, startLedgerWorld, type LedgerWorld } from './ledger-harness';

/** Issue 4: a checkpoint covering a new entry exists within a second or two. */
const CHECKPOINT_DEADLINE_MS = 2_000;

interface CheckpointResponse {
  origin: string;
  treeSize: number;
  rootHash: string;
  checkpoint: string;
}

describe('transparency log in a real store', { concurrency: false }, () => {
  let world: LedgerWorld;
  let publicKeyPem = '';
  let origin = '';

  before(async () => {
    world = await startLedgerWorld();
    await fileAndDecide(world, 'bob', 'approve');
    await fileAndDecide(world, 'carol', 'deny');
    await fileAndDecide(world, 'bob', 'approve');
    const key = await world.api<{ origin: string; publicKeyPem: string }>('erin', 'GET', '/v1/ledger/public-key');
    publicKeyPem = key.body.publicKeyPem;
    origin = key.body.origin;
  });

  after(async () => {
    await world?.store.close();
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  async function checkpoint(): Promise<CheckpointResponse> {
    const r = await world.api<CheckpointResponse>('erin', 'GET', '/v1/ledger/checkpoint');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  }

  async function entryCount(): Promise<number> {
    return (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/entries?limit=1')).body.treeSize;
  }

  test('a signed checkpoint covers a new entry within two seconds, and verifies under the log key', async () => {
    await fileAndDecide(world, 'carol', 'approve');
    const size = await entryCount();
    const started = Date.now();
    let cp: CheckpointResponse;
    // GET /v1/ledger/checkpoint never forces a signature: this waits for the log's own timer.
    for (;;) {
      cp = await checkpoint();
      if (cp.treeSize >= size) break;
      assert.ok(Date.now() - started < CHECKPOINT_DEADLINE_MS, `no checkpoint covering ${size} entries after ${CHECKPOINT_DEADLINE_MS} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // A data dir initialized without --origin or a public URL: its log is named after this machine and its key.
    assert.equal(origin, machineLogOrigin(hostname(), rawEd25519PublicKey(publicKeyPem)));
    const { text } = verifyNote(cp.checkpoint, [ed25519NoteVerifier(origin, publicKeyPem)]);
    const parsed = parseCheckpoint(text);
    assert.equal(parsed.size, cp.treeSize);
    assert.equal(Buffer.from(parsed.rootHash).toString('base64'), cp.rootHash);
  });

  test('inclusion proof of every entry and consistency proofs between sizes verify against signed roots', async () => {
    const cp = await checkpoint();
    const root = fromBase64(cp.rootHash);
    const entries = (await world.api<{ entries: unknown[] }>('erin', 'GET', `/v1/ledger/entries?limit=${cp.treeSize}`)).body.entries;
    assert.equal(entries.length, cp.treeSize);
    for (let seq = 0; seq < cp.treeSize; seq++) {
      const r = await world.api<{ leafHash: string; hashes: string[]; treeSize: number }>('erin', 'GET', `/v1/ledger/proof/inclusion?seq=${seq}&treeSize=${cp.treeSize}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const leaf = hasher.leaf(new TextEncoder().encode(canonicalJson(entries[seq])));
      assert.deepEqual(Buffer.from(leaf).toString('base64'), r.body.leafHash, `leaf ${seq} = SHA-256(0x00 ‖ canonical entry)`);
      verifyInclusion(hasher, seq, cp.treeSize, leaf, r.body.hashes.map(fromBase64), root);
    }
    for (const from of [0, 1, 2, Math.floor(cp.treeSize / 2), cp.treeSize - 1, cp.treeSize]) {
      const r = await world.api<{ fromRoot: string; toRoot: string; hashes: string[] }>('erin', 'GET', `/v1/ledger/proof/consistency?from=${from}&to=${cp.treeSize}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.toRoot, cp.rootHash);
      verifyConsistency(hasher, from, cp.treeSize, r.body.hashes.map(fromBase64), fromBase64(r.body.fromRoot), root);
    }
  });

  test('ledger reads need an approver, auditor or admin token; bad queries are 400 with field paths', async () => {
    assert.equal((await world.api('alice', 'GET', '/v1/ledger/checkpoint')).status, 403);
    assert.equal((await world.api('bob', 'GET', '/v1/ledger/checkpoint')).status, 200);
    const unauth = await fetch(`${world.store.url}/v1/ledger/checkpoint`);
    assert.equal(unauth.status, 401);
    for (const path of ['/v1/ledger/proof/inclusion?seq=-1', '/v1/ledger/proof/inclusion?seq=abc', '/v1/ledger/proof/inclusion?seq=1&bogus=1', '/v1/ledger/proof/consistency?from=5&to=2', '/v1/ledger/proof/consistency']) {
      const r = await world.api<{ error: { code: string; fieldErrors?: unknown[] } }>('erin', 'GET', path);
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'invalid_input');
    }
    const beyond = await world.api<{ error: { code: string } }>('erin', 'GET', '/v1/ledger/proof/inclusion?seq=0&treeSize=100000');
    assert.equal(beyond.status, 404);
  });

  test('stored decision bundles with their tlog entry pass stock @sigstore/verify; every mutated one fails', async () => {
    const cp = await checkpoint();
    const entries = (await world.api<{ entries: Array<{ seq: number; type: string }> }>('erin', 'GET', `/v1/ledger/entries?limit=${cp.treeSize}`)).body.entries;
    const decisions = entries.filter((e) => e.type === 'decision');
    assert.ok(decisions.length >= 4);
    const trust = (await world.api<{ trustedRoot: Record<string, unknown>; publicKeys: Record<string, unknown> }>('erin', 'GET', '/v1/ledger/trusted-root')).body;
    const tlog = (trust.trustedRoot.tlogs as Array<{ baseUrl: string; checkpointKeyId: unknown }>)[0]!;
    assert.ok(tlog.baseUrl.includes(origin) && tlog.checkpointKeyId);
    for (const d of decisions) {
      const r = await world.api<{ bundle: Record<string, unknown> }>('erin', 'GET', `/v1/ledger/decisions/${d.seq}/bundle`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      sigstoreVerify(r.body.bundle, trust.trustedRoot, trust.publicKeys);

      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form surgery on bundle JSON
      const mutations: Array<[string, (b: any) => void]> = [
        ['canonicalizedBody flipped', (b) => (b.verificationMaterial.tlogEntries[0].canonicalizedBody = flipB64(b.verificationMaterial.tlogEntries[0].canonicalizedBody))],
        ['logIndex + 1', (b) => {
          const e = b.verificationMaterial.tlogEntries[0];
          e.logIndex = e.inclusionProof.logIndex = String(Number(e.logIndex) + 1);
        }],
        ['proof hash flipped', (b) => {
          const hashes = b.verificationMaterial.tlogEntries[0].inclusionProof.hashes as string[];
          if (hashes.length > 0) hashes[0] = flipB64(hashes[0]!);
          else b.verificationMaterial.tlogEntries[0].inclusionProof.hashes = [Buffer.alloc(32).toString('base64')];
        }],
        ['checkpoint size changed', (b) => {
          const p = b.verificationMaterial.tlogEntries[0].inclusionProof;
          p.checkpoint.envelope = p.checkpoint.envelope.replace(`\n${p.treeSize}\n`, `\n${Number(p.treeSize) + 1}\n`);
        }],
        ['DSSE payload altered', (b) => (b.dsseEnvelope.payload = flipB64(b.dsseEnvelope.payload))],
        ['DSSE signature altered', (b) => (b.dsseEnvelope.signatures[0].sig = flipB64(b.dsseEnvelope.signatures[0].sig))],
        ['integratedTime moved', (b) => (b.verificationMaterial.tlogEntries[0].integratedTime = String(Number(b.verificationMaterial.tlogEntries[0].integratedTime) + 1))],
        ['tlog entry removed', (b) => (b.verificationMaterial.tlogEntries = [])],
      ];
      for (const [name, mutate] of mutations) {
        const copy = structuredClone(r.body.bundle);
        mutate(copy);
        assert.throws(() => sigstoreVerify(copy, trust.trustedRoot, trust.publicKeys), Error, `stock verifier accepted a bundle with ${name}`);
      }
    }
    // Another log's trusted root must not verify this bundle.
    const other = structuredClone(trust.trustedRoot) as { tlogs: Array<{ baseUrl: string }> };
    other.tlogs[0]!.baseUrl = 'https://someone-else.example/log';
    const r = await world.api<{ bundle: unknown }>('erin', 'GET', `/v1/ledger/decisions/${decisions[0]!.seq}/bundle`);
    assert.throws(() => sigstoreVerify(r.body.bundle, other, trust.publicKeys));
  });

  test('after a restart the log reloads its nodes and its next checkpoint extends the last one', async () => {
    const before = await checkpoint();
    await world.restart();
    await fileAndDecide(world, 'bob', 'approve');
    const size = await entryCount();
    const started = Date.now();
    let after: CheckpointResponse;
    do {
      after = await checkpoint();
      if (after.treeSize >= size) break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() - started < CHECKPOINT_DEADLINE_MS);
    assert.ok(after.treeSize >= size);
    const r = await world.api<{ fromRoot: string; hashes: string[] }>('erin', 'GET', `/v1/ledger/proof/consistency?from=${before.treeSize}&to=${after.treeSize}`);
    assert.equal(r.body.fromRoot, before.rootHash);
    verifyConsistency(hasher, before.treeSize, after.treeSize, r.body.hashes.map(fromBase64), fromBase64(before.rootHash), fromBase64(after.rootHash));
  });
});

function flipB64(b64: string): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[Math.floor(bytes.length / 2)]! ^= 1;
  return bytes.toString('base64');
}

describe('the log never signs a checkpoint inconsistent with its last one', () => {
  test('history rewritten in the SQLite file (entry edited, ledger_nodes wiped): the store halts at start instead of signing', async () => {
    const world = await startLedgerWorld();
    try {
      await fileAndDecide(world, 'bob', 'approve');
      // Let the log sign the current state.
      const started = Date.now();
      let before: CheckpointResponse;
      for (;;) {
        before = (await world.api<CheckpointResponse>('erin', 'GET', '/v1/ledger/checkpoint')).body;
        const size = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/entries?limit=1')).body.treeSize;
        if (before.treeSize >= size) break;
        assert.ok(Date.now() - started < CHECKPOINT_DEADLINE_MS);
        await new Promise((r) => setTimeout(r, 50));
      }
      await world.store.close();
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(`${world.dataDir}/breakglass.db`);
      db.exec('DROP TRIGGER ledger_entries_no_update; DROP TRIGGER ledger_nodes_no_delete;');
      const row = db.prepare('SELECT entry_json FROM ledger_entries WHERE seq = 1').get() as { entry_json: string };
      db.prepare('UPDATE ledger_entries SET entry_json = ? WHERE seq = 1').run(row.entry_json.replace('"type":', '"note":"rewritten","type":'));
      db.exec('DELETE FROM ledger_nodes');
      db.close();
      await world.restart();
      // The start-up check (grant-store/ledger/ledger-guard.ts) finds the rewrite: nothing new is accepted.
      await assert.rejects(fileAndDecide(world, 'carol', 'approve'), /request refused: the log halted since .*: the first \d+ rows hash to/);
      await new Promise((r) => setTimeout(r, 700));
      const after = (await world.api<CheckpointResponse & { halted: { seq: number | null; table: string; reason: string } | null }>('erin', 'GET', '/v1/ledger/checkpoint')).body;
      assert.equal(after.treeSize, before.treeSize, 'no new checkpoint over a rewritten history');
      assert.equal(after.checkpoint, before.checkpoint);
      assert.equal(after.halted?.table, 'ledger_entries');
      assert.match(after.halted?.reason ?? '', /checkpoint \d+ .* says .*: a row among 0\.\.\d+ was edited/);
    } finally {
      await world.store.close();
      await rm(world.tmp, { recursive: true, force: true });
    }
  });
});
