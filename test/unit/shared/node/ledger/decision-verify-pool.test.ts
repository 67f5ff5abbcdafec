import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decisionVerifierPool } from '../../../../../shared/node/ledger/decision-verify-pool';
import { keyIdFromPublicKeyPem } from '../../../../../shared/node/signing/key-id';
import { signDecision } from '../../../../../shared/node/signing/sign-decision';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../../../shared/node/signing/software-signer';
import { newDecisionStatement } from '../../../../../shared/signing/decision-statement';

const rid = (i: number) => `req_${String(i).padStart(16, '0')}`;

async function signed(approver: string, pair: { privateKeyPem: string }, requestId: string) {
  const statement = newDecisionStatement({ request: { id: requestId, digest: `sha256:${'ab'.repeat(32)}` }, decision: 'approve', approver, comment: 'ok for the hotfix', ttl: '1h', nonceHex: randomBytes(16).toString('hex'), now: new Date('2026-11-30T09:00:00Z') });
  return signDecision(statement, fileKeySigner(pair.privateKeyPem));
}

test('decision signatures checked in worker threads: the same answers as in-thread, bad ones refused with the reason', async () => {
  const bob = generateSoftwareKeyPair();
  const mallory = generateSoftwareKeyPair();
  const bobKey = keyIdFromPublicKeyPem(bob.publicKeyPem);
  const keys = (keyId: string) => (keyId === bobKey ? { publicKeyPem: bob.publicKeyPem } : undefined);
  // The first check in-thread, every later one in the two workers.
  const pool = decisionVerifierPool({ threads: 2, inThreadFirst: 1 });
  try {
    const good = await Promise.all(Array.from({ length: 6 }, (_, i) => signed('bob', bob, rid(i)).then((b) => pool.verify(b, keys))));
    assert.deepEqual(
      good.map((v) => [v.statement.requestId, v.statement.approver, v.keyId]),
      Array.from({ length: 6 }, (_, i) => [rid(i), 'bob', bobKey]),
    );
    assert.equal(pool.inWorkers, 5);
    // Signed by another key but presented under bob's hint: the worker refuses it.
    const forged = (await signed('bob', mallory, rid(100))) as unknown as { verificationMaterial: { publicKey: { hint: string } } };
    forged.verificationMaterial.publicKey.hint = bobKey;
    await assert.rejects(pool.verify(forged, keys), /signature|key/i);
    // A key the caller does not know is refused in-thread, naming it.
    await assert.rejects(pool.verify(await signed('mallory', mallory, rid(101)), keys), /unknown key/);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.verify(await signed('bob', bob, rid(102)), keys), /closed/);
});
