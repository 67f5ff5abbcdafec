import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { workloadCheckInput } from '../../../../grant-store/identity/workload-check';
import type { WorkloadCaller } from '../../../../grant-store/identity/workload-authenticator';
import { AppError } from '../../../../shared/errors';

const caller: WorkloadCaller = {
  principal: 'ci-payments',
  issuerId: 'github',
  issuer: 'https://token.actions.githubusercontent.com',
  derived: { subject: { repo: 'acme/payments-api', branch: 'main' }, ownedKeys: new Set(['repo', 'branch', 'tag', 'environment']) },
  extraKeys: ['image'],
  gates: ['ci-tests', 'container-signing'],
  context: { 'oidc.run_id': '42', 'oidc.sha': 'abc' },
  expiresAt: Date.now() + 60_000,
};

function refusal(body: unknown): AppError {
  try {
    workloadCheckInput(caller, body);
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error;
  }
  assert.fail('expected a refusal');
}

describe('a workload check', () => {
  test('runs on the token\'s subject plus allowed extra attributes; trusted context overrides and joins the job\'s', () => {
    assert.deepEqual(workloadCheckInput(caller, { gate: 'ci-tests' }), { gate: 'ci-tests', subject: { repo: 'acme/payments-api', branch: 'main' }, context: { 'oidc.run_id': '42', 'oidc.sha': 'abc' } });
    assert.deepEqual(workloadCheckInput(caller, { gate: 'container-signing', subject: { repo: 'acme/payments-api', image: 'sha256-1' }, context: { job: 'https://ci/1' } }), {
      gate: 'container-signing',
      subject: { repo: 'acme/payments-api', branch: 'main', image: 'sha256-1' },
      context: { job: 'https://ci/1', 'oidc.run_id': '42', 'oidc.sha': 'abc' },
    });
  });

  test('refuses another repository, a gate outside the rule, oidc.* context from the job, and bad input', () => {
    const other = refusal({ gate: 'ci-tests', subject: { repo: 'acme/other' } });
    assert.equal(other.code, 'forbidden');
    assert.deepEqual(other.fieldErrors, [{ path: 'subject.repo', message: 'contradicts the workload token: it says repo=acme/payments-api' }]);
    const gate = refusal({ gate: 'deploy-freeze' });
    assert.equal(gate.code, 'forbidden');
    assert.match(gate.message, /ci-payments may check only ci-tests, container-signing/);
    const forged = refusal({ gate: 'ci-tests', context: { 'oidc.sha': 'fake' } });
    assert.equal(forged.code, 'invalid_input');
    assert.deepEqual(forged.fieldErrors?.map((f) => f.path), ['context.oidc.sha']);
    assert.equal(refusal({ gate: 'ci-tests', verdict: 'warn' }).code, 'invalid_input');
    assert.equal(refusal({ subject: { repo: 'x' } }).code, 'invalid_input');
  });
});
