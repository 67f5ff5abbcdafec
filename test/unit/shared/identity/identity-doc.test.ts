// docs/identity.md's policy snippet is a valid identity section: the example people copy loads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { PolicySchema } from '../../../../shared/domain/policy';
import { identityPolicyInput } from './identity-policy-fixture';

test('the identity section in docs/identity.md parses, and its mappings name teams and approver groups that exist', () => {
  const doc = readFileSync(new URL('../../../../docs/identity.md', import.meta.url), 'utf8');
  const block = /```yaml\n(identity:[\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'docs/identity.md has a yaml block starting with identity:');
  const { identity } = parse(block) as { identity: Record<string, unknown> };
  const input = identityPolicyInput(identity);
  input.approvers = { oncall: ['bob'], leads: [] };
  input.gates = [{ id: 'container-signing', kind: 'slow', tier: 'high' }];
  const parsed = PolicySchema.safeParse(input);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  assert.equal(parsed.data.identity?.oidc?.principalClaim, 'email');
  assert.deepEqual(parsed.data.identity?.workloads?.principals.map((p) => p.principal), ['ci-payments', 'ci-platform']);
  // The same snippet with a mapping to a team the policy lacks is refused, naming it.
  const broken = identityPolicyInput({ ...identity, oidc: { ...(identity.oidc as object), groups: { x: { team: 'nope' } } } });
  broken.approvers = input.approvers;
  broken.gates = input.gates;
  assert.match(JSON.stringify(PolicySchema.safeParse(broken).error?.issues), /unknown team \\"nope\\"/);
});
