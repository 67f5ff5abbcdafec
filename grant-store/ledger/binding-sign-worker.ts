// The entry-binding signer's worker thread (binding-signer.ts): signs a batch of entry bindings
// with the log key, the same Ed25519 signature ed25519EntryBinder makes on the event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { ed25519EntryBinder } from '../../shared/node/ledger/node-crypto';
import { ENTRY_BINDING_SIZE } from '../../shared/ledger/entry-binding';
import type { SignBatch, SignBatchResult, SignerStart } from './binding-signer';

if (!parentPort) throw new Error('binding-sign-worker runs as a worker thread');
const port = parentPort;
const { origin, privateKeyPem } = workerData as SignerStart;
const binder = ed25519EntryBinder(origin, privateKeyPem);
port.on('message', (batch: SignBatch) => {
  try {
    const bindings = new Uint8Array(batch.seqs.length * ENTRY_BINDING_SIZE);
    for (let i = 0; i < batch.seqs.length; i++) bindings.set(binder.bind(batch.seqs[i]!, batch.leaves.subarray(i * 32, i * 32 + 32)), i * ENTRY_BINDING_SIZE);
    port.postMessage({ id: batch.id, bindings } satisfies SignBatchResult, [bindings.buffer]);
  } catch (error) {
    port.postMessage({ id: batch.id, error: error instanceof Error ? error.message : String(error) } satisfies SignBatchResult);
  }
});
port.postMessage('ready');
