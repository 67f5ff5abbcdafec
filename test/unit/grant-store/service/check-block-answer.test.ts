import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CheckResult } from '../../../../shared/domain/check';
import { formatScope } from '../../../../shared/policy/scope-match';
import { declaredScope, scopeRuleOf } from '../../../../shared/policy/scope-rules';
import { resolveGate } from '../../../../shared/policy/tier-resolution';
import { startCheckHotPath, type RunningCheckHotPath } from '../../../../grant-store/checks/check-hot-path';
import { checkGate, isoInstant } from '../../../../grant-store/service/check-service';
import { startHarness, type Harness } from '../service-harness';

/**
 * A block answer names the scope a bypass would need: formatScope(declaredScope(rule, subject)),
 * which the store builds from the gate's declared keys sorted once per gate. Both ways of
 * answering (the in-memory hot path and the database) must give exactly that text, whatever
 * the order of the keys in the policy and in the subject.
 */
describe('block answer scope text', () => {
  let h: Harness;
  let hot: RunningCheckHotPath;
  before(async () => {
    h = await startHarness();
    hot = await startCheckHotPath(h.store);
  });
  after(async () => {
    await hot.stop();
    await h.close();
  });

  const subjects: Record<string, string>[] = [
    { repo: 'payments-api', branch: 'main' },
    { branch: 'main', repo: 'payments-api' },
    { job: 'x', repo: 'a-repo', branch: 'release/1.2', zz: 'last' },
  ];

  function expectedScope(gateId: string, subject: Record<string, string>): string {
    const gate = resolveGate(h.deps.policies.policy, gateId)!.gate;
    return formatScope(declaredScope(scopeRuleOf(gate), subject));
  }

  for (const withHotPath of [true, false]) {
    test(`${withHotPath ? 'hot path' : 'database'}: the requested scope is the declared keys, sorted as formatScope sorts`, async () => {
      const deps = withHotPath ? { ...h.deps, checks: hot } : h.deps;
      for (const gate of ['ci-tests', 'container-signing']) {
        for (const subject of subjects) {
          const answer: CheckResult = await checkGate(deps, h.caller('ci', 'gate'), { gate, subject });
          const scope = expectedScope(gate, subject);
          assert.equal(answer.verdict, 'block');
          assert.ok(scope.startsWith('branch='), `declared keys sorted: ${scope}`);
          assert.ok(answer.message.includes(`no active bypass covers ${scope}. To ask for one: `), answer.message);
          assert.ok(answer.requestCommand?.startsWith(`breakglass request --gate ${gate} --scope ${scope} --reason `), answer.requestCommand ?? 'no command');
          assert.deepEqual(answer.requestScope, declaredScope(scopeRuleOf(resolveGate(h.deps.policies.policy, gate)!.gate), subject));
        }
      }
    });
  }
});

describe('isoInstant (a block answer\'s checkedAt)', () => {
  test('is toISOString of the instant, whether or not the previous call was the same millisecond', () => {
    const base = Date.parse('2026-11-30T17:00:00.000Z');
    for (const offset of [0, 0, 1, 1, 0, 999, 1000, 86_400_000, -1, 0]) {
      const now = new Date(base + offset);
      assert.equal(isoInstant(now), now.toISOString());
      assert.equal(isoInstant(new Date(now.getTime())), now.toISOString(), 'the same millisecond from another Date');
    }
  });

  test('an invalid date throws as toISOString does, and does not poison the next call', () => {
    assert.throws(() => isoInstant(new Date(Number.NaN)), RangeError);
    const now = new Date('2026-11-30T17:00:00.123Z');
    assert.equal(isoInstant(now), '2026-11-30T17:00:00.123Z');
  });
});
