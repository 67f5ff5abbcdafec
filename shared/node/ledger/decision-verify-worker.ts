// A worker thread of the decision-signature pool (decision-verify-pool.ts): verifies one
// decision bundle per message with the same function the store and the CLI use in-thread.
import { parentPort } from 'node:worker_threads';
import { verifyDecisionBundle } from '../signing/verify-decision';
import type { DecisionCheck, DecisionCheckResult } from './decision-verify-pool';

if (!parentPort) throw new Error('decision-verify-worker runs as a worker thread');
const port = parentPort;
port.on('message', (task: DecisionCheck) => {
  verifyDecisionBundle(task.bundle, (keyId) => (keyId === task.keyId ? { publicKeyPem: task.publicKeyPem } : undefined)).then(
    (verified) => port.postMessage({ id: task.id, ok: true, requestId: verified.statement.requestId, approver: verified.statement.approver, keyId: verified.keyId } satisfies DecisionCheckResult),
    (error: unknown) => port.postMessage({ id: task.id, ok: false, message: error instanceof Error ? error.message : String(error) } satisfies DecisionCheckResult),
  );
});
