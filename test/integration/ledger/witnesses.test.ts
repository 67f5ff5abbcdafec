import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import { appendFile, cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { startGrantStore, type RunningGrantStore } from '../../../grant-store/http/server';
import { loadLogKey } from '../../../grant-store/ledger/log-key';
import { cosignatureLine, verifyCosignedCheckpoint } from '../../../shared/ledger/cosignature';
import { formatCheckpoint, parseCheckpoint } from '../../../shared/ledger/checkpoint';
import { parseSignedNote, signNote } from '../../../shared/ledger/signed-note';
import { formatVerifierKey, parseVerifierKey } from '../../../shared/ledger/verifier-key';
import { formatAddCheckpointRequest } from '../../../shared/ledger/witness-protocol';
import { ed25519Cosigner, ed25519NoteSigner, ed25519NoteVerifier, ed25519VerifierKeyFromPem, nodeEd25519Verify, nodeSha256 } from '../../../shared/node/ledger/node-crypto';
import { waitForReadyLine } from '../../support/ready-line';
import { BIN, ROOT, runCli } from '../cli/cli-harness';
import { fileAndDecide, startLedgerWorld, type LedgerWorld } from './ledger-harness';
import { until } from '../../support/until';

const ORIGIN = 'breakglass.test/witnessed';
const pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

interface Health {
  ok: boolean;
  witnesses?: { quorum: number; treeSize: number; cosigned: string[]; missing: string[]; belowQuorum: boolean; failures: Record<string, { message: string; treeSize: number }> };
}

/**
 * Witnessed checkpoints end to end: a real `breakglass witness serve` process the store pushes
 * each checkpoint to (C2SP tlog-witness), a console-like witness that hands its cosignature back
 * (POST /v1/ledger/cosignatures), a quorum of 2 in the policy, `ledger verify --witnesses`, and a
 * forked copy of the store whose checkpoint the witness refuses.
 */
describe('witnessed checkpoints', { concurrency: false }, () => {
  let world: LedgerWorld;
  let witness: ChildProcess | undefined;
  let witnessDir = '';
  let witnessVkey = '';
  let witnessUrl = '';
  let copy: RunningGrantStore | undefined;
  // The second witness, as a console would be: a key of its own, no URL, it submits.
  const consoleWitness = ed25519Cosigner('laptop.test/bob/console', pem());
  const consoleVkey = formatVerifierKey(consoleWitness.key);

  const health = async (url = world.store.url): Promise<Health> => (await (await fetch(`${url}/healthz`)).json()) as Health;
  const cosignedBy = async (name: string, size: number, url = world.store.url) =>
    until(`${name} to cosign size ${size}`, async () => {
      const h = await health(url);
      return h.witnesses && h.witnesses.treeSize >= size && h.witnesses.cosigned.includes(name) ? h : undefined;
    });
  const latest = async (url = world.store.url) =>
    (await (await fetch(`${url}/v1/ledger/checkpoint`, { headers: { authorization: `Bearer ${world.tokens.erin}` } })).json()) as { treeSize: number; checkpoint: string };
  const submit = (body: unknown, url = world.store.url) =>
    fetch(`${url}/v1/ledger/cosignatures`, { method: 'POST', headers: { authorization: `Bearer ${world.tokens.bob}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const settled = async (url = world.store.url) => {
    const headers = { authorization: `Bearer ${world.tokens.erin}` };
    return until('a checkpoint covering every entry', async () => {
      const size = ((await (await fetch(`${url}/v1/ledger/entries?limit=1`, { headers })).json()) as { treeSize: number }).treeSize;
      const cp = await latest(url);
      return cp.treeSize >= size ? cp : undefined;
    });
  };

  before(async () => {
    world = await startLedgerWorld({
      origin: ORIGIN,
      beforeStart: async (dataDir) => {
        witnessDir = join(dataDir, '..', 'witness');
        const init = await runCli(['witness', 'init', '--name', 'witness.test/w1', '--state-dir', witnessDir, '--json']);
        assert.equal(init.code, 0, init.stderr);
        witnessVkey = (JSON.parse(init.stdout) as { vkey: string }).vkey;
        const paths = dataDirPaths(dataDir);
        const key = await loadLogKey(paths.logKeyPath, { originPath: paths.logOriginPath });
        const added = await runCli(['witness', 'add-log', ed25519VerifierKeyFromPem(key.origin, key.publicKeyPem), '--state-dir', witnessDir]);
        assert.equal(added.code, 0, added.stderr);
        witness = spawn(process.execPath, [BIN, 'witness', 'serve', '--port', '0', '--json', '--state-dir', witnessDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        const ready = JSON.parse(await waitForReadyLine(witness, { what: 'witness serve', timeoutMs: 30_000, accept: (l) => l.includes('"url"') })) as { url: string };
        witnessUrl = ready.url;
        await appendFile(
          paths.policyPath,
          `\nwitnesses:\n  quorum: 2\n  members:\n    - vkey: "${witnessVkey}"\n      url: ${ready.url}\n    - vkey: "${consoleVkey}"\n`,
        );
      },
    });
  });

  after(async () => {
    await copy?.close();
    await world?.store.close();
    if (witness && witness.exitCode === null) {
      witness.kill('SIGTERM');
      await once(witness, 'exit');
    }
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  test('the store pushes to the standalone witness; with the console cosignature the checkpoint reaches quorum', async () => {
    await fileAndDecide(world, 'bob', 'approve');
    const cp = await settled();
    const pushed = await cosignedBy('witness.test/w1', cp.treeSize);
    assert.equal(pushed.witnesses!.belowQuorum, true, 'one of two witnesses: below quorum');
    assert.deepEqual(pushed.witnesses!.missing, ['laptop.test/bob/console']);

    const text = parseSignedNote(cp.checkpoint).text;
    const r = await submit({ checkpoint: cp.checkpoint, cosignature: cosignatureLine(text, consoleWitness, 1_800_000_000) });
    assert.equal(r.status, 200, await r.clone().text());
    assert.deepEqual(await r.json(), { treeSize: cp.treeSize, witness: 'laptop.test/bob/console', stored: true, cosignatures: 2, quorum: 2 });
    const again = await submit({ checkpoint: text, cosignature: cosignatureLine(text, consoleWitness, 1_800_000_001) });
    assert.equal(((await again.json()) as { stored: boolean }).stored, false, 'one cosignature per witness and checkpoint');

    const h = await health();
    assert.equal(h.witnesses!.belowQuorum, false);
    assert.deepEqual(h.witnesses!.cosigned.sort(), ['laptop.test/bob/console', 'witness.test/w1']);
    // The checkpoint is served as one signed note with both cosignatures appended, on every route.
    const tlog = await (await fetch(`${world.store.url}/v1/ledger/tlog/checkpoint`, { headers: { authorization: `Bearer ${world.tokens.erin}` } })).text();
    assert.equal(tlog, (await latest()).checkpoint);
    const logKey = await loadLogKey(join(world.dataDir, 'log-key.pem'), { originPath: join(world.dataDir, 'log-origin') });
    const verified = verifyCosignedCheckpoint(tlog, ed25519NoteVerifier(ORIGIN, logKey.publicKeyPem), [parseVerifierKey(witnessVkey, nodeSha256), consoleWitness.key], nodeEd25519Verify);
    assert.equal(verified.checkpoint.size, cp.treeSize);
    assert.deepEqual(verified.cosignatures.map((c) => c.name).sort(), ['laptop.test/bob/console', 'witness.test/w1']);
    // A verifier that knows only the log key still accepts it (unknown signature lines are ignored).
    assert.equal(verifyCosignedCheckpoint(tlog, ed25519NoteVerifier(ORIGIN, logKey.publicKeyPem), [], nodeEd25519Verify).cosignatures.length, 0);
    const metrics = await (await fetch(`${world.store.url}/metrics`, { headers: { authorization: `Bearer ${world.tokens.admin}` } })).text();
    assert.match(metrics, /^breakglass_checkpoint_cosignatures 2$/m);
    assert.match(metrics, /^breakglass_witness_below_quorum 0$/m);
  });

  test('ledger verify --witnesses N passes with N trusted cosignatures and fails naming the missing witness', async () => {
    const env = { BREAKGLASS_STORE: world.store.url, BREAKGLASS_TOKEN: world.tokens.erin, XDG_STATE_HOME: join(world.tmp, 'state') };
    const pass = await runCli(['ledger', 'verify', '--witnesses', '2', '--witness-key', witnessVkey, '--witness-key', consoleVkey], env);
    assert.equal(pass.code, 0, pass.stdout + pass.stderr);
    assert.match(pass.stdout, /witnesses: {2}2 of 2 trusted witnesses cosigned checkpoint \d+ \(2 required\)/);
    const stranger = formatVerifierKey(ed25519Cosigner('stranger.test/w9', pem()).key);
    const fail = await runCli(['ledger', 'verify', '--json', '--witnesses', '2', '--witness-key', witnessVkey, '--witness-key', stranger], env);
    assert.equal(fail.code, 1, fail.stdout + fail.stderr);
    const json = JSON.parse(fail.stdout) as { ok: boolean; witnesses: { ok: boolean; missing: string[]; message: string } };
    assert.equal(json.ok, false);
    assert.deepEqual(json.witnesses.missing, ['stranger.test/w9']);
    assert.match(json.witnesses.message, /only 1 of the 2 required witness cosignatures cover checkpoint \d+: missing stranger\.test\/w9/);
    const usage = await runCli(['ledger', 'verify', '--witnesses', '3', '--witness-key', witnessVkey], env);
    assert.equal(usage.code, 2, usage.stderr);
    assert.match(usage.stderr, /--witnesses: 3 required, but 1 witness key\(s\) trusted/);
  });

  test('bad cosignatures are refused with the reason, and nothing is kept', async () => {
    const cp = await latest();
    const text = parseSignedNote(cp.checkpoint).text;
    const parsed = parseCheckpoint(text);
    // Signed over another checkpoint body (another root): does not verify over this one.
    const otherText = formatCheckpoint({ origin: ORIGIN, size: parsed.size, rootHash: new Uint8Array(32).fill(9), extensions: parsed.extensions });
    const forged = await submit({ checkpoint: cp.checkpoint, cosignature: cosignatureLine(otherText, consoleWitness, 1) });
    assert.equal(forged.status, 422);
    assert.match(((await forged.json()) as { error: { message: string } }).error.message, /cosignature by laptop\.test\/bob\/console does not verify over this checkpoint/);
    // A checkpoint this log never signed (the console would be cosigning a fork).
    const fork = await submit({ checkpoint: otherText, cosignature: cosignatureLine(otherText, consoleWitness, 1) });
    assert.equal(fork.status, 422);
    assert.match(((await fork.json()) as { error: { message: string } }).error.message, /this log never signed that checkpoint of size \d+/);
    // A witness the policy does not name.
    const stranger = ed25519Cosigner('stranger.test/w9', pem());
    const unknown = await submit({ checkpoint: text, cosignature: cosignatureLine(text, stranger, 1) });
    assert.equal(unknown.status, 403);
    assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /"stranger\.test\/w9" is not a witness of this store's policy/);
    // Not a signature line at all.
    const junk = await submit({ checkpoint: text, cosignature: 'hello' });
    assert.equal(junk.status, 400);
    // A requester cannot submit.
    const requester = await fetch(`${world.store.url}/v1/ledger/cosignatures`, { method: 'POST', headers: { authorization: `Bearer ${world.tokens.alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ checkpoint: text, cosignature: 'x' }) });
    assert.equal(requester.status, 403);
    const served = await latest();
    assert.equal(parseSignedNote(served.checkpoint).signatures.length, 3, 'the log and the two witnesses, nothing else');
  });

  test('a forked copy of the store is refused by the witness that cosigned the other branch, and says so', async () => {
    const before = await settled();
    // A second copy of the same store: same origin, same log key, same policy and witness.
    await world.store.close();
    await cp(world.dataDir, join(world.tmp, 'copy'), { recursive: true });
    await world.restart();
    copy = await startGrantStore({ dataDir: join(world.tmp, 'copy'), port: 0 });
    // Each copy appends a different next entry; the original's checkpoint is cosigned first.
    await fileAndDecide(world, 'carol', 'deny');
    const mine = await settled();
    assert.ok(mine.treeSize > before.treeSize);
    await cosignedBy('witness.test/w1', mine.treeSize);
    const forkWorld = { ...world, store: copy };
    forkWorld.api = async (who, method, path, body) => {
      const res = await fetch(copy!.url + path, { method, headers: { authorization: `Bearer ${world.tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as never };
    };
    await fileAndDecide(forkWorld, 'bob', 'approve');
    const theirs = await settled(copy.url);
    assert.notEqual(parseSignedNote(theirs.checkpoint).text, parseSignedNote(mine.checkpoint).text);
    const refused = await until('the witness to refuse the fork', async () => {
      const h = await health(copy!.url);
      return h.witnesses?.failures['witness.test/w1'] ? h : undefined;
    });
    assert.match(refused.witnesses!.failures['witness.test/w1']!.message, /witness witness\.test\/w1 (refused checkpoint \d+ \((409|422)|already cosigned size)/);
    assert.equal(refused.witnesses!.cosigned.includes('witness.test/w1'), false);
    assert.equal(refused.ok, true, 'witness trouble never fails liveness');
    // Appends still work on the fork (witness failures do not block), and its metrics count the refusal.
    const metrics = await (await fetch(`${copy.url}/metrics`, { headers: { authorization: `Bearer ${world.tokens.admin}` } })).text();
    assert.match(metrics, /^breakglass_witness_failures_total\{witness="witness\.test\/w1"\} [1-9]/m);
    // The witness kept what it refused as evidence: the fork's checkpoints (the fork pushes each one
    // it signs, so which of them came first depends on timing), never the branch it cosigned.
    const evidence = await until('the witness to keep the fork as evidence', async () => {
      const text = await readFile(join(witnessDir, 'evidence.jsonl'), 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      const lines = text.trim() === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l) as { note: string });
      return lines.length > 0 ? lines : undefined;
    });
    for (const e of evidence) {
      const kept = parseCheckpoint(parseSignedNote(e.note).text);
      assert.equal(kept.origin, ORIGIN);
      assert.ok(kept.size > before.treeSize && kept.size <= parseCheckpoint(parseSignedNote(theirs.checkpoint).text).size, `evidence of size ${kept.size} is one of the fork's checkpoints`);
      assert.notEqual(parseSignedNote(e.note).text, parseSignedNote(mine.checkpoint).text);
    }
  });

  test('split view: a checkpoint of the same size with another root, signed by the log key, is refused by the witness', async () => {
    const cp = await latest();
    const parsed = parseCheckpoint(parseSignedNote(cp.checkpoint).text);
    const logSigner = ed25519NoteSigner(ORIGIN, await readFile(join(world.dataDir, 'log-key.pem'), 'utf8'));
    const split = signNote(formatCheckpoint({ origin: ORIGIN, size: parsed.size, rootHash: new Uint8Array(32).fill(7), extensions: parsed.extensions }), [logSigner]);
    const res = await fetch(`${witnessUrl}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest({ oldSize: parsed.size, proof: [], note: split }) });
    assert.equal(res.status, 409);
    assert.equal((await res.text()).trim(), String(parsed.size));
  });
});
