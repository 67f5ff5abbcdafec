// A worker thread of the entry-binding pool (binding-verify-pool.ts): checks a batch of entry
// bindings with the log's public key, the same Ed25519 check the store makes in-thread.
import { parentPort } from 'node:worker_threads';
import { ed25519BindingVerifier } from './node-crypto';
import type { BindingBatch, BindingBatchResult } from './binding-verify-pool';

if (!parentPort) throw new Error('binding-verify-worker runs as a worker thread');
const port = parentPort;
let verifier: { origin: string; publicKeyPem: string; verify: ReturnType<typeof ed25519BindingVerifier> } | undefined;
port.on('message', (batch: BindingBatch) => {
  try {
    if (!verifier || verifier.origin !== batch.origin || verifier.publicKeyPem !== batch.publicKeyPem) {
      verifier = { origin: batch.origin, publicKeyPem: batch.publicKeyPem, verify: ed25519BindingVerifier(batch.origin, batch.publicKeyPem) };
    }
    const bad: number[] = [];
    for (let i = 0; i < batch.seqs.length; i++) {
      const binding = batch.bindings[i];
      if (!verifier.verify(batch.seqs[i]!, batch.leaves.subarray(i * 32, i * 32 + 32), binding ?? null)) bad.push(batch.seqs[i]!);
    }
    port.postMessage({ id: batch.id, bad } satisfies BindingBatchResult);
  } catch (error) {
    port.postMessage({ id: batch.id, error: error instanceof Error ? error.message : String(error) } satisfies BindingBatchResult);
  }
});
