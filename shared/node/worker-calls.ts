import { Worker, type Transferable } from 'node:worker_threads';

/**
 * Calls into worker threads, matched by id: the bookkeeping the ledger's worker pools share
 * (page checks, decision signatures, entry bindings). Each answer settles the call with its id;
 * a worker that errors or exits fails every call it held, so a dead worker can only make a
 * check fail, never pass; close() terminates the workers and fails what is still pending.
 */
export interface WorkerCalls<T> {
  /** Starts a worker whose answers settle their calls. */
  spawn(url: URL): Worker;
  /** Posts `message` (built around a fresh id) to `worker`; resolves with the settled answer. */
  call(worker: Worker, message: (id: number) => { id: number }, transfer?: readonly Transferable[]): Promise<T>;
  /** The worker holding the fewest calls. */
  leastLoaded(workers: readonly Worker[]): Worker;
  /** Terminates `workers`; calls still pending fail with `why`. */
  close(workers: readonly Worker[], why: string): Promise<void>;
  readonly closed: boolean;
}

/**
 * @param what names the work in a dead worker's error: "<what>'s worker thread failed: …".
 * @param settle turns an answer into the call's value; it throws to fail the call.
 */
export function workerCalls<T, Answer extends { id: number }>(what: string, settle: (answer: Answer) => T): WorkerCalls<T> {
  const pending = new Map<number, { resolve: (value: T) => void; reject: (error: Error) => void; worker: Worker }>();
  const load = new Map<Worker, number>();
  let nextId = 0;
  let closed = false;

  return {
    spawn(url) {
      const worker = new Worker(url);
      load.set(worker, 0);
      worker.on('message', (answer: Answer) => {
        const p = pending.get(answer.id);
        if (!p) return;
        pending.delete(answer.id);
        load.set(worker, load.get(worker)! - 1);
        try {
          p.resolve(settle(answer));
        } catch (error) {
          p.reject(error as Error);
        }
      });
      const fail = (error: Error) => {
        for (const [id, p] of pending) {
          if (p.worker !== worker) continue;
          pending.delete(id);
          p.reject(new Error(`${what}'s worker thread failed: ${error.message}`));
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!closed) fail(new Error(`exited with code ${code}`));
      });
      return worker;
    },
    call(worker, message, transfer = []) {
      const id = nextId++;
      load.set(worker, load.get(worker)! + 1);
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker });
        worker.postMessage(message(id), transfer);
      });
    },
    leastLoaded(workers) {
      return workers.reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
    },
    async close(workers, why) {
      closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
      for (const p of pending.values()) p.reject(new Error(why));
      pending.clear();
    },
    get closed() {
      return closed;
    },
  };
}
