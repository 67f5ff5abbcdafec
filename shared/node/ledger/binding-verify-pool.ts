import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
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
  const workers: Worker[] = [];
  const pending = new Map<number, { resolve: (bad: number[]) => void; reject: (error: Error) => void; worker: Worker }>();
  let nextId = 0;
  let closed = false;

  const start = (): void => {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(BINDING_VERIFY_WORKER_URL);
      worker.on('message', (result: BindingBatchResult) => {
        const p = pending.get(result.id);
        if (!p) return;
        pending.delete(result.id);
        if ('error' in result) p.reject(new Error(`the binding check's worker thread failed: ${result.error}`));
        else p.resolve(result.bad);
      });
      const fail = (error: Error) => {
        for (const [id, p] of pending) {
          if (p.worker !== worker) continue;
          pending.delete(id);
          p.reject(new Error(`the binding check's worker thread failed: ${error.message}`));
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!closed) fail(new Error(`exited with code ${code}`));
      });
      workers.push(worker);
    }
  };

  const send = (worker: Worker, rows: readonly BindingRow[]): Promise<number[]> => {
    const id = nextId++;
    const leaves = new Uint8Array(rows.length * 32);
    rows.forEach((r, i) => leaves.set(r.leaf, i * 32));
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, worker });
      worker.postMessage({ id, origin, publicKeyPem, seqs: rows.map((r) => r.seq), leaves, bindings: rows.map((r) => r.binding) } satisfies BindingBatch, [leaves.buffer]);
    });
  };

  return {
    minBatch: options.minBatch ?? BINDING_POOL_MIN_BATCH,
    async verify(rows) {
      if (closed) throw new Error('the binding verifier pool is closed');
      if (rows.length === 0) return [];
      if (workers.length === 0) start();
      const slice = Math.ceil(rows.length / workers.length);
      const parts = await Promise.all(workers.map((w, i) => (i * slice < rows.length ? send(w, rows.slice(i * slice, (i + 1) * slice)) : Promise.resolve([]))));
      return parts.flat().sort((a, b) => a - b);
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
      for (const p of pending.values()) p.reject(new Error('the binding verifier pool was closed'));
      pending.clear();
    },
  };
}
