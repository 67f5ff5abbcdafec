import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { workerCalls } from '../worker-calls';
import { BINDING_VERIFY_WORKER_URL } from './binding-verify-worker-url';

/**
 * Entry bindings (shared/ledger/entry-binding.ts) checked in worker threads, for the store's
 * start-up check: the rows past the last checkpoint are read first and their bindings verified
 * here (one Ed25519 verify each, the costliest per-row work of that check) while the main thread
 * reads and hashes every row. Split over every core: the main thread mostly waits on the
 * database and hashes, so on 2 cores two workers beside it still win (measured in
 * bench/ledger-startup.ts). Smaller batches than `minBatch` are checked in-thread by the caller:
 * starting a worker costs more than a few thousand verifies.
 */

/** One slice of rows sent to a worker: leaves packed 32 bytes each, in the order of `seqs`. */
export interface BindingBatch {
  id: number;
  origin: string;
  publicKeyPem: string;
  seqs: number[];
  leaves: Uint8Array;
  bindings: Array<Uint8Array | null>;
}

export type BindingBatchResult = { id: number; bad: number[] } | { id: number; error: string };

export interface BindingRow {
  seq: number;
  leaf: Uint8Array;
  binding: Uint8Array | null;
}

export interface BindingVerifierPool {
  /** Batches smaller than this are better checked in-thread. */
  readonly minBatch: number;
  /** The seqs among `rows` whose binding does not verify, ascending. Rejects when a worker fails (never reports a row as bound). */
  verify(rows: readonly BindingRow[]): Promise<number[]>;
  /** Ends the workers. */
  close(): Promise<void>;
}

/** Below this many rows the workers are not started (a few thousand verifies take less than starting them). */
export const BINDING_POOL_MIN_BATCH = 4096;

export function bindingVerifierPool(origin: string, publicKeyPem: string, options: { threads?: number; minBatch?: number } = {}): BindingVerifierPool {
  const threads = Math.max(1, options.threads ?? availableParallelism());
  const calls = workerCalls<number[], BindingBatchResult>('the binding check', (result) => {
    if ('error' in result) throw new Error(`the binding check's worker thread failed: ${result.error}`);
    return result.bad;
  });
  const workers: Worker[] = [];

  const send = (worker: Worker, rows: readonly BindingRow[]): Promise<number[]> => {
    const leaves = new Uint8Array(rows.length * 32);
    rows.forEach((r, i) => leaves.set(r.leaf, i * 32));
    return calls.call(worker, (id) => ({ id, origin, publicKeyPem, seqs: rows.map((r) => r.seq), leaves, bindings: rows.map((r) => r.binding) }) satisfies BindingBatch, [leaves.buffer]);
  };

  return {
    minBatch: options.minBatch ?? BINDING_POOL_MIN_BATCH,
    async verify(rows) {
      if (calls.closed) throw new Error('the binding verifier pool is closed');
      if (rows.length === 0) return [];
      if (workers.length === 0) for (let i = 0; i < threads; i++) workers.push(calls.spawn(BINDING_VERIFY_WORKER_URL));
      const slice = Math.ceil(rows.length / workers.length);
      const parts = await Promise.all(workers.map((w, i) => (i * slice < rows.length ? send(w, rows.slice(i * slice, (i + 1) * slice)) : Promise.resolve([]))));
      return parts.flat().sort((a, b) => a - b);
    },
    close: () => calls.close(workers, 'the binding verifier pool was closed'),
  };
}
