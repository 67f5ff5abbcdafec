import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { DecisionVerifier } from '../../ledger/verify-ledger';
import type { verifyDecisionBundle as VerifyDecisionBundle } from '../signing/verify-decision';
import { workerCalls } from '../worker-calls';
import { DECISION_VERIFY_WORKER_URL } from './decision-verify-worker-url';

/**
 * Decision signatures for the ledger verifier, checked in worker threads so they run beside
 * the hashing on the main thread instead of after it (ECDSA P-256 verifies are the costliest
 * per-entry work of a ledger with many decisions). Workers are started only once a ledger
 * shows more than `inThreadFirst` decisions: starting one (loading the Sigstore libraries)
 * costs more than a few dozen verifies, which is all an incremental run usually has.
 */

/** One decision to check, as sent to a worker. */
export interface DecisionCheck {
  id: number;
  bundle: unknown;
  keyId: string;
  publicKeyPem: string;
}

export type DecisionCheckResult = { id: number; ok: true; requestId: string; approver: string; keyId: string } | { id: number; ok: false; message: string };

export interface DecisionVerifierPool {
  verify: DecisionVerifier;
  /** Ends the workers (the process can exit); pending checks fail. */
  close(): Promise<void>;
  /** How many checks ran in workers (the rest ran in-thread). */
  readonly inWorkers: number;
}

/**
 * The in-thread check, loaded at its first use: the Sigstore libraries are a good part of the
 * CLI's start-up, and a ledger verify that meets no decision (an incremental run, often) needs none.
 */
let inThread: Promise<typeof VerifyDecisionBundle> | undefined;
const verifyDecisionBundle: typeof VerifyDecisionBundle = async (bundle, keys, expected) => {
  inThread ??= import('../signing/verify-decision').then((m) => m.verifyDecisionBundle);
  return (await inThread)(bundle, keys, expected);
};

export function decisionVerifierPool(options: { threads?: number; inThreadFirst?: number } = {}): DecisionVerifierPool {
  const threads = Math.max(1, options.threads ?? availableParallelism());
  const inThreadFirst = options.inThreadFirst ?? 32;
  // A worker that dies fails what it held (reported as unverified, never as verified).
  const calls = workerCalls<Awaited<ReturnType<DecisionVerifier>>, DecisionCheckResult>('the signature check', (result) => {
    if (result.ok) return { statement: { requestId: result.requestId, approver: result.approver }, keyId: result.keyId };
    throw new Error(result.message);
  });
  const workers: Worker[] = [];
  let seen = 0;
  let inWorkers = 0;

  const verify: DecisionVerifier = async (bundle, keys) => {
    if (calls.closed) throw new Error('the decision verifier pool is closed');
    if (++seen <= inThreadFirst) return verifyDecisionBundle(bundle, keys);
    const keyId = hintOf(bundle);
    const key = keyId === undefined ? undefined : keys(keyId);
    // Nothing for a worker to check against: the in-thread check names what is missing.
    if (keyId === undefined || !key) return verifyDecisionBundle(bundle, keys);
    if (workers.length === 0) for (let i = 0; i < threads; i++) workers.push(calls.spawn(DECISION_VERIFY_WORKER_URL));
    inWorkers++;
    return calls.call(calls.leastLoaded(workers), (id) => ({ id, bundle, keyId, publicKeyPem: key.publicKeyPem }) satisfies DecisionCheck);
  };

  return {
    verify,
    get inWorkers() {
      return inWorkers;
    },
    close: () => calls.close(workers, 'the decision verifier pool was closed'),
  };
}

function hintOf(bundle: unknown): string | undefined {
  const hint = (bundle as { verificationMaterial?: { publicKey?: { hint?: unknown } } } | null)?.verificationMaterial?.publicKey?.hint;
  return typeof hint === 'string' ? hint : undefined;
}
