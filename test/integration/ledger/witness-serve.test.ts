import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utf8 } from '../../../shared/bytes';
import { formatCheckpoint } from '../../../shared/ledger/checkpoint';
import { verifyCosignatureLine } from '../../../shared/ledger/cosignature';
import { MemoryTree } from '../../../shared/ledger/memory-tree';
import { consistencyProof } from '../../../shared/ledger/proofs';
import { ed25519VerifierKeyString, signNote } from '../../../shared/ledger/signed-note';
import { parseVerifierKey } from '../../../shared/ledger/verifier-key';
import { formatAddCheckpointRequest, TLOG_SIZE_CONTENT_TYPE } from '../../../shared/ledger/witness-protocol';
import { ed25519NoteSigner, nodeEd25519Verify, nodeSha256, nodeTreeHasher as hasher } from '../../../shared/node/ledger/node-crypto';
import { waitForReadyLine } from '../../support/ready-line';
import { BIN, ROOT, runCli } from '../cli/cli-harness';

// `breakglass witness serve` as a real process speaking C2SP tlog-witness over HTTP: it cosigns
// only checkpoints that extend the one it cosigned before, and remembers that across restarts.

const ORIGIN = 'store.example.com/breakglass';
const logSigner = ed25519NoteSigner(ORIGIN, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
const logVkey = ed25519VerifierKeyString(ORIGIN, logSigner.rawPublicKey, nodeSha256);

function tree(n: number, fork = ''): MemoryTree {
  const t = new MemoryTree(hasher);
  for (let i = 0; i < n; i++) t.appendData(utf8(`${i < 10 ? '' : fork}entry ${i}`));
  return t;
}
const note = (t: MemoryTree) => signNote(formatCheckpoint({ origin: ORIGIN, size: t.size, rootHash: t.root(), extensions: [] }), [logSigner]);

describe('breakglass witness serve (C2SP tlog-witness)', () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let url = '';
  let vkey = '';

  async function start(): Promise<void> {
    child = spawn(process.execPath, [BIN, 'witness', 'serve', '--state-dir', dir, '--port', '0', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const line = await waitForReadyLine(child, { what: 'witness serve', timeoutMs: 30_000, accept: (l) => l.includes('"url"'), diagnostics: () => err });
    url = (JSON.parse(line) as { url: string }).url;
  }

  async function stop(): Promise<void> {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    child = undefined;
  }

  async function post(body: string): Promise<{ status: number; type: string | null; text: string }> {
    const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'breakglass-witness-'));
    const init = await runCli(['witness', 'init', '--name', 'witness.example.com/w1', '--state-dir', dir, '--json']);
    assert.equal(init.code, 0, init.stderr);
    vkey = (JSON.parse(init.stdout) as { vkey: string }).vkey;
    assert.equal(parseVerifierKey(vkey, nodeSha256).type, 'cosignature/v1');
    const again = await runCli(['witness', 'init', '--name', 'witness.example.com/other', '--state-dir', dir]);
    assert.equal(again.code, 2, 'a witness keeps its name');
    assert.match(again.stderr, /already holds witness witness\.example\.com\/w1/);
    const add = await runCli(['witness', 'add-log', logVkey, '--state-dir', dir]);
    assert.equal(add.code, 0, add.stderr);
    const badAdd = await runCli(['witness', 'add-log', 'not-a-vkey', '--state-dir', dir]);
    assert.equal(badAdd.code, 2);
    assert.match(badAdd.stderr, /verifier key "not-a-vkey" is invalid/);
    await start();
  });

  after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('cosigns the first checkpoint and its extensions; answers 409 text/x.tlog.size with its size to a stale client', async () => {
    const health = (await (await fetch(`${url}/healthz`)).json()) as { vkey: string; logs: string[] };
    assert.deepEqual([health.vkey, health.logs], [vkey, [ORIGIN]]);
    const t20 = tree(20);
    const first = await post(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: note(t20) }));
    assert.equal(first.status, 200, first.text);
    const witnessKey = parseVerifierKey(vkey, nodeSha256);
    const text20 = formatCheckpoint({ origin: ORIGIN, size: 20, rootHash: t20.root(), extensions: [] });
    assert.ok(verifyCosignatureLine(text20, first.text, witnessKey, nodeEd25519Verify).timestamp > 1_700_000_000);
    const t30 = tree(30);
    const stale = await post(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: note(t30) }));
    assert.deepEqual([stale.status, stale.type, stale.text], [409, TLOG_SIZE_CONTENT_TYPE, '20\n']);
    const next = await post(formatAddCheckpointRequest({ oldSize: 20, proof: consistencyProof(hasher, t30, 20, 30), note: note(t30) }));
    assert.equal(next.status, 200, next.text);
  });

  test('a fork of what it cosigned is refused, also after a restart, and kept as evidence', async () => {
    const fork30 = tree(30, 'forked ');
    const same = await post(formatAddCheckpointRequest({ oldSize: 30, proof: [], note: note(fork30) }));
    assert.equal(same.status, 409);
    await stop();
    await start();
    const fork40 = tree(40, 'forked ');
    const grown = await post(formatAddCheckpointRequest({ oldSize: 30, proof: consistencyProof(hasher, fork40, 30, 40), note: note(fork40) }));
    assert.equal(grown.status, 422, grown.text);
    assert.match(grown.text, /does not extend the one this witness cosigned at size 30/);
    const honest40 = tree(40);
    assert.equal((await post(formatAddCheckpointRequest({ oldSize: 30, proof: consistencyProof(hasher, honest40, 30, 40), note: note(honest40) }))).status, 200);
    const evidence = (await readFile(join(dir, 'evidence.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { status: number });
    // The split view and the non-extending fork; not the 409 that told a stale client the size.
    assert.deepEqual(evidence.map((e) => e.status), [409, 422]);
  });

  test('bad requests: malformed body 400, unknown log 404, forged log signature 403, oversized body 413, GET 405', async () => {
    assert.equal((await post('old x\n\n')).status, 400);
    const other = ed25519NoteSigner('other.example/log', generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const t = tree(41);
    const foreign = signNote(formatCheckpoint({ origin: 'other.example/log', size: 41, rootHash: t.root(), extensions: [] }), [other]);
    assert.equal((await post(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: foreign }))).status, 404);
    const impostor = ed25519NoteSigner(ORIGIN, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const forged = signNote(formatCheckpoint({ origin: ORIGIN, size: 41, rootHash: t.root(), extensions: [] }), [impostor]);
    assert.equal((await post(formatAddCheckpointRequest({ oldSize: 40, proof: [], note: forged }))).status, 403);
    assert.equal((await post(`old 0\n\n${'x'.repeat(70_000)}`)).status, 413);
    assert.equal((await fetch(`${url}/add-checkpoint`)).status, 405);
  });
});
