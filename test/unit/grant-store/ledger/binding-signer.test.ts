import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { utf8 } from '../../../../shared/bytes';
import { ed25519EntryBinder, nodeTreeHasher as hasher } from '../../../../shared/node/ledger/node-crypto';
import { batchSigningBinder } from '../../../../grant-store/ledger/binding-signer';
import { selfBoundEntries } from '../../../../grant-store/ledger/self-bound-entries';

const ORIGIN = 'breakglass.example.com/test';
const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const leaves = (n: number, tag: string) => Array.from({ length: n }, (_, i) => hasher.leaf(utf8(`${tag} ${i}`)));

describe('entry bindings signed in a batch off the event loop', () => {
  test('the worker signs exactly the bindings the log key makes on the event loop, in order', async () => {
    const key = pem();
    const here = ed25519EntryBinder(ORIGIN, key);
    const logged: string[] = [];
    const binder = batchSigningBinder(here, { origin: ORIGIN, privateKeyPem: key }, { log: (m) => logged.push(m) });
    assert.equal(await binder.whenReady(), true);
    for (const n of [1, 3, 64]) {
      const ls = leaves(n, `batch of ${n}`);
      const seqs = ls.map((_, i) => 1000 * n + i);
      const signed = await binder.bindMany(seqs, ls);
      assert.equal(signed.length, n);
      signed.forEach((b, i) => {
        assert.deepEqual(Buffer.from(b), Buffer.from(here.bind(seqs[i]!, ls[i]!)));
        assert.equal(here.verify(seqs[i]!, ls[i]!, b), true);
      });
    }
    // A binding for the wrong seq does not verify (the batch is not shuffled or shifted).
    const ls = leaves(2, 'order');
    const [a, b] = await binder.bindMany([7, 8], ls);
    assert.equal(here.verify(7, ls[0]!, b), false);
    assert.equal(here.verify(8, ls[1]!, a), false);
    assert.deepEqual(logged, []);
  });

  test('a worker that cannot start is reported once and the batches are signed on the event loop', async () => {
    const key = pem();
    const here = ed25519EntryBinder(ORIGIN, key);
    const logged: string[] = [];
    const binder = batchSigningBinder(here, { origin: ORIGIN, privateKeyPem: 'not a PEM key' }, { log: (m) => logged.push(m) });
    assert.equal(await binder.whenReady(), false);
    const ls = leaves(5, 'fallback');
    const signed = await binder.bindMany([0, 1, 2, 3, 4], ls);
    signed.forEach((b, i) => assert.equal(here.verify(i, ls[i]!, b), true));
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /entry-binding signer thread failed/);
  });

  test('a worker that stops answering is given up after the timeout: the batches it owes are signed here, once, and so are the next', async () => {
    const key = pem();
    const here = ed25519EntryBinder(ORIGIN, key);
    const logged: string[] = [];
    // Ready at once, then never answers.
    const silent = new URL(`data:text/javascript,${encodeURIComponent("import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => {}); parentPort.postMessage('ready');")}`);
    const binder = batchSigningBinder(here, { origin: ORIGIN, privateKeyPem: key }, { log: (m) => logged.push(m), answerTimeoutMs: 200, workerUrl: silent });
    assert.equal(await binder.whenReady(), true);
    const ls = leaves(3, 'stuck');
    const started = performance.now();
    const [first, second] = await Promise.all([binder.bindMany([0, 1], ls.slice(0, 2)), binder.bindMany([2], ls.slice(2))]);
    const waited = performance.now() - started;
    assert.ok(waited >= 150 && waited < 2_000, `answered after ${waited.toFixed(0)} ms`);
    [...first!, ...second!].forEach((b, i) => assert.equal(here.verify(i, ls[i]!, b), true));
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /no answer within 200 ms/);
    const [later] = await binder.bindMany([9], [ls[0]!]);
    assert.equal(here.verify(9, ls[0]!, later), true);
  });

  test('self-bound entries remember batch bindings: a row as signed is checked by comparison, an edited one is refused', async () => {
    const key = pem();
    const inner = ed25519EntryBinder(ORIGIN, key);
    let verifies = 0;
    const counted = { ...inner, verify: (s: number, l: Uint8Array, b: Uint8Array | null | undefined) => (verifies++, inner.verify(s, l, b)) };
    const signer = batchSigningBinder(counted, { origin: ORIGIN, privateKeyPem: key });
    await signer.whenReady();
    const binder = selfBoundEntries(signer);
    const ls = leaves(3, 'self');
    const signed = await binder.bindMany([10, 11, 12], ls);
    assert.equal(binder.verify(10, ls[0]!, signed[0]), true);
    assert.equal(binder.verify(11, ls[1]!, signed[1]), true);
    assert.equal(verifies, 0);
    const edited = Uint8Array.from(signed[2]!);
    edited[0]! ^= 1;
    assert.equal(binder.verify(12, ls[2]!, edited), false);
    assert.equal(verifies, 1);
  });
});
