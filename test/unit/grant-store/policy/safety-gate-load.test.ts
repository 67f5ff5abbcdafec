import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { AppError } from '../../../../shared/errors';
import { EXAMPLE_POLICY_PATH } from '../../../../grant-store/policy/example-policy-path';
import { parsePolicy } from '../../../../grant-store/policy/load-policy';
import { relaxAttestation } from '../../../../scripts/demo/start-demo';

/** The example's critical tier, which keeps the container-signing safety gate. */
const CRITICAL = `  critical:
    approvals: 2
    approverGroups: [platform-leads, security-leads]
    allowSameTeam: false
    maxTtl: 1h
    hardwareKeyRequired: true
    attestationRequired: true
    notify: [ciso]
`;

function refusal(text: string): AppError {
  try {
    parsePolicy(Buffer.from(text), 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return error;
  }
  assert.fail('expected the policy to be refused');
}

describe('safety gates are kept: policy load refuses a safety gate on a weaker tier', async () => {
  const example = await readFile(EXAMPLE_POLICY_PATH, 'utf8');
  const start = example.indexOf('  critical:\n');
  const end = example.indexOf('\n\n', start);
  const withCritical = (tier: string) => `${example.slice(0, start)}${tier}${example.slice(end + 1)}`;

  test('the example keeps its safety gates: container-signing on a strong tier, secret-scan bypass: never', () => {
    const { policy } = parsePolicy(Buffer.from(example), 'example');
    assert.deepEqual(
      policy.gates.filter((g) => g.kind === 'safety').map((g) => [g.id, g.tier, g.bypass ?? null]),
      [
        ['secret-scan', 'high', 'never'],
        ['container-signing', 'critical', null],
      ],
    );
    const critical = policy.tiers.critical!;
    assert.deepEqual([critical.approvals, critical.allowSameTeam, critical.attestationRequired, critical.notify], [2, false, true, ['ciso']]);
    assert.ok(policy.attestation.roots.some((r) => r.id === 'yubico-piv'));
    // The test tier above is that tier, so the cases below change one property each.
    assert.doesNotThrow(() => parsePolicy(Buffer.from(withCritical(CRITICAL)), 'policy.yaml'));
  });

  const cases: [string, string, RegExp][] = [
    ['one approver', CRITICAL.replace('approvals: 2', 'approvals: 1'), /approvals: 2 \(two distinct approvers; the tier has 1\)/],
    ['teammates may approve', CRITICAL.replace('allowSameTeam: false', 'allowSameTeam: true'), /allowSameTeam: false \(no approver from the requester's team\)/],
    ['keys without attestation', CRITICAL.replace('    attestationRequired: true\n', ''), /attestationRequired: true \(attested hardware keys only\)/],
    ['nobody told', CRITICAL.replace('    notify: [ciso]\n', ''), /notify: \[\.\.\.\] \(a named list told about every request\)/],
  ];
  for (const [what, tier, missing] of cases) {
    test(`refused, naming the gate and the missing property: ${what}`, () => {
      const error = refusal(withCritical(tier));
      assert.equal(error.code, 'invalid_input');
      assert.match(error.message, /gate container-signing is a safety gate but its tier critical does not keep it/);
      assert.match(error.message, missing);
      const field = error.fieldErrors?.find((f) => f.path === `gates.${example.slice(0, example.indexOf('- id: container-signing')).split('- id: ').length - 1}.tier`);
      assert.ok(field, `a field error at the gate's tier: ${JSON.stringify(error.fieldErrors)}`);
      // Only the property that is missing is named.
      for (const [, , other] of cases) if (other !== missing) assert.doesNotMatch(error.message, other);
    });
  }

  test('every missing property at once is named in one error', () => {
    const weak = '  critical:\n    approvals: 1\n    approverGroups: [platform-leads]\n    maxTtl: 1h\n';
    const error = refusal(withCritical(weak));
    for (const [, , missing] of cases) assert.match(error.message, missing);
  });

  test('a safety gate may sit on any tier when it is bypass: never', () => {
    const never = example.replace('    tier: critical\n    scopeKeys: [repo, branch]\n    description: Admission', '    tier: low\n    bypass: never\n    description: Admission');
    assert.notEqual(never, example);
    assert.doesNotThrow(() => parsePolicy(Buffer.from(never), 'policy.yaml'));
  });

  test('a slow gate on the same weak tier loads', () => {
    const slow = example.replace('- id: container-signing\n    kind: safety\n    tier: critical', '- id: container-signing\n    kind: slow\n    tier: low');
    assert.notEqual(slow, example);
    assert.doesNotThrow(() => parsePolicy(Buffer.from(slow), 'policy.yaml'));
  });

  test('the npm start demo relaxes only the attested-key requirement, and only through the demo option', () => {
    const demo = relaxAttestation(example);
    const changed = demo.split('\n').filter((line, i) => line !== example.split('\n')[i]);
    assert.equal(changed.length, 2, changed.join('\n'));
    assert.ok(changed.every((l) => /^ {4}(hardwareKeyRequired|attestationRequired): false #/.test(l)), changed.join('\n'));
    // `serve` (no relaxation) refuses the demo policy, naming what is missing...
    assert.match(refusal(demo).message, /attestationRequired: true/);
    // ...and the demo's relaxation waives exactly that: a tier weaker in any other way is still refused.
    assert.doesNotThrow(() => parsePolicy(Buffer.from(demo), 'policy.yaml', { relax: { attestation: true } }));
    const teammates = demo.replace('  critical:\n    # The tier', '  critical:\n    allowSameTeam: true\n    # The tier').replace('    allowSameTeam: false\n    maxTtl: 1h', '    maxTtl: 1h');
    assert.throws(() => parsePolicy(Buffer.from(teammates), 'policy.yaml', { relax: { attestation: true } }), /allowSameTeam: false/);
  });
});
