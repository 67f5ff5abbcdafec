import { Worker } from 'node:worker_threads';
import { ENTRY_BINDING_SIZE, type EntryBinder } from '../../shared/ledger/entry-binding';
import { fallbackStoreLogger } from '../logger';
import type { BatchEntryBinder } from '../storage/store';
import { BINDING_SIGN_WORKER_URL } from './binding-sign-worker-url';

/** What the signer's worker thread is started with. */
export interface SignerStart {
  origin: string;
  privateKeyPem: string;
}
/** One batch to sign: the seqs and their 32-byte leaf hashes, packed. */
export interface SignBatch {
  id: number;
  seqs: number[];
  leaves: Uint8Array;
}
/** The batch's bindings, 64 bytes each, packed, in order (or why it could not sign). */
export type SignBatchResult = { id: number; bindings: Uint8Array } | { id: number; error: string };

/** Idle this long, the worker thread is stopped (the next batch is signed here and starts it again). */
export const SIGNER_IDLE_STOP_MS = 30_000;
/**
 * A batch the worker has not answered within this long (a batch of 256 takes ~10 ms) means it is
 * stuck: it is stopped and what it owes is signed here, so a commit never waits on it for longer.
 */
export const SIGNER_ANSWER_TIMEOUT_MS = 2_000;

interface Waiting {
  seqs: readonly number[];
  leaves: readonly Uint8Array[];
  resolve: (bindings: Uint8Array[]) => void;
  /** performance.now() when it was sent. */
  sentAt: number;
}

/**
 * The log key's entry binder, also signing batches of bindings in a worker thread (issue 16):
 * an Ed25519 signature per appended entry was the largest single cost of a warn on the event
 * loop (~20 % of its CPU there); a batch of warns is signed in one round trip to the worker,
 * whose main-thread cost is a fraction of one signature (measured: 10-20 µs per batch of 1-10
 * against 27 µs per signature). The signatures are the same bytes (Ed25519 is deterministic).
 * Until the worker is ready, and if it fails, batches are signed here; a worker idle for
 * SIGNER_IDLE_STOP_MS is stopped (it never keeps the process alive).
 */
export interface BatchSigningBinder extends BatchEntryBinder {
  /** Start the worker now (it starts with the first batch otherwise); resolves true once batches go to it, false if it failed. */
  whenReady(): Promise<boolean>;
}

export interface BatchSigningOptions {
  /** Where failures are reported (default: the store logger, warn level). */
  log?: (message: string) => void;
  /** Default SIGNER_ANSWER_TIMEOUT_MS. */
  answerTimeoutMs?: number;
  /** The worker to run (default: binding-sign-worker.ts; tests pass a misbehaving one). */
  workerUrl?: URL;
}

export function batchSigningBinder(binder: EntryBinder, start: SignerStart, options: BatchSigningOptions = {}): BatchSigningBinder {
  const log = options.log ?? ((message: string) => fallbackStoreLogger().warn(message));
  const answerTimeoutMs = options.answerTimeoutMs ?? SIGNER_ANSWER_TIMEOUT_MS;
  let worker: Worker | undefined;
  let ready = false;
  let failed = false;
  let nextId = 0;
  const waiting = new Map<number, Waiting>();
  let idle: NodeJS.Timeout | undefined;
  /** Runs while batches are owed: fails the worker if the oldest has waited past SIGNER_ANSWER_TIMEOUT_MS. */
  let watchdog: NodeJS.Timeout | undefined;
  const watch = (): void => {
    if (watchdog) return;
    watchdog = setTimeout(() => {
      watchdog = undefined;
      const oldest = waiting.values().next().value;
      if (!oldest) return;
      if (performance.now() - oldest.sentAt >= answerTimeoutMs) fail(`no answer within ${answerTimeoutMs} ms`);
      else watch();
    }, answerTimeoutMs / 4);
    watchdog.unref();
  };
  /** whenReady() callers, told when the worker is ready (true) or has failed (false). */
  const readyWaiters: ((ok: boolean) => void)[] = [];
  const tellReady = (ok: boolean): void => {
    for (const resolve of readyWaiters.splice(0)) resolve(ok);
  };

  const signHere = (seqs: readonly number[], leaves: readonly Uint8Array[]): Uint8Array[] => seqs.map((seq, i) => binder.bind(seq, leaves[i]!));

  const stop = (): void => {
    const w = worker;
    worker = undefined;
    ready = false;
    // What it had not answered is signed here (the same signatures).
    for (const [id, w8] of waiting) {
      waiting.delete(id);
      w8.resolve(signHere(w8.seqs, w8.leaves));
    }
    void w?.terminate();
  };
  const fail = (why: string): void => {
    if (failed) return;
    failed = true;
    log(`the entry-binding signer thread failed (${why}): entries are bound on the event loop again`);
    stop();
    tellReady(false);
  };
  const spawn = (): void => {
    const w = new Worker(options.workerUrl ?? BINDING_SIGN_WORKER_URL, { workerData: start satisfies SignerStart });
    worker = w;
    w.unref();
    w.on('message', (message: SignBatchResult | 'ready') => {
      if (worker !== w) return;
      if (message === 'ready') {
        ready = true;
        tellReady(true);
        return;
      }
      const entry = waiting.get(message.id);
      if (!entry) return;
      waiting.delete(message.id);
      if (waiting.size === 0) w.unref();
      if ('error' in message) {
        entry.resolve(signHere(entry.seqs, entry.leaves));
        fail(message.error);
        return;
      }
      entry.resolve(entry.seqs.map((_, i) => message.bindings.slice(i * ENTRY_BINDING_SIZE, (i + 1) * ENTRY_BINDING_SIZE)));
    });
    w.on('error', (error) => {
      if (worker === w) fail(error.message);
    });
    w.on('exit', (code) => {
      if (worker === w) fail(`exited with code ${code}`);
    });
  };
  const touch = (): void => {
    if (idle) idle.refresh();
    else {
      idle = setTimeout(() => {
        idle = undefined;
        if (waiting.size === 0) stop();
      }, SIGNER_IDLE_STOP_MS);
      idle.unref();
    }
  };

  return {
    whenReady() {
      if (failed) return Promise.resolve(false);
      touch();
      if (!worker) spawn();
      if (ready) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => readyWaiters.push(resolve));
    },
    origin: binder.origin,
    bind: (seq, leafHash) => binder.bind(seq, leafHash),
    verify: (seq, leafHash, binding) => binder.verify(seq, leafHash, binding),
    bindMany(seqs, leaves) {
      if (seqs.length === 0) return Promise.resolve([]);
      if (failed) return Promise.resolve(signHere(seqs, leaves));
      touch();
      if (!worker) spawn();
      if (!ready) return Promise.resolve(signHere(seqs, leaves));
      const w = worker!;
      const packed = new Uint8Array(seqs.length * 32);
      for (let i = 0; i < leaves.length; i++) {
        if (leaves[i]!.length !== 32) return Promise.resolve(signHere(seqs, leaves));
        packed.set(leaves[i]!, i * 32);
      }
      const id = nextId++;
      return new Promise<Uint8Array[]>((resolve) => {
        waiting.set(id, { seqs, leaves, resolve, sentAt: performance.now() });
        watch();
        // Held while it owes an answer (a commit is waiting for it).
        w.ref();
        w.postMessage({ id, seqs: [...seqs], leaves: packed } satisfies SignBatch, [packed.buffer]);
      });
    },
  };
}
