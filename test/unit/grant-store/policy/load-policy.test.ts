import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../../shared/errors';
import { EXAMPLE_POLICY_PATH } from '../../../../grant-store/policy/example-policy-path';
import { parsePolicy, policyHash } from '../../../../grant-store/policy/load-policy';
import { PolicyHolder } from '../../../../grant-store/policy/policy-holder';

function failure(text: string): AppError {
  try {
    parsePolicy(Buffer.from(text), '/etc/bg/policy.yaml');
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error;
  }
  assert.fail('expected the policy to be rejected');
}

describe('policy loading', async () => {
  const example = await readFile(EXAMPLE_POLICY_PATH, 'utf8');
  const dir = await mkdtemp(join(tmpdir(), 'bg-policy-'));
  after(() => rm(dir, { recursive: true, force: true }));

  test('the shipped example policy is valid and has the promised parts', () => {
    const { policy, hash } = parsePolicy(Buffer.from(example), 'example');
    assert.deepEqual(Object.keys(policy.tiers).sort(), ['critical', 'high', 'low']);
    assert.deepEqual(Object.keys(policy.teams).sort(), ['payments', 'platform', 'security']);
    assert.ok(policy.gates.some((g) => g.kind === 'slow') && policy.gates.some((g) => g.kind === 'safety'));
    assert.equal(policy.standingScopes.length, 1);
    assert.equal(hash, policyHash(Buffer.from(example)));
    assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  });

  test('a typo in a field is reported with file, line and field path', () => {
    const broken = example.replace('    approvals: 2                     # two distinct approvers', '    aprovals: 2');
    const lineNo = broken.split('\n').findIndex((l) => l.includes('aprovals: 2')) + 1;
    const error = failure(broken);
    assert.equal(error.code, 'invalid_input');
    assert.match(error.message, new RegExp(`/etc/bg/policy.yaml:${lineNo}:\\d+: tiers.critical.aprovals: unknown field`));
    assert.ok(error.fieldErrors?.some((f) => f.path === 'tiers.critical.aprovals' && f.message.startsWith(`line ${lineNo}:`)));
  });

  test('a wrong value points at its own line', () => {
    const broken = example.replace('maxTtl: 4h\n', 'maxTtl: 5h\n');
    const lineNo = broken.split('\n').findIndex((l) => l.includes('maxTtl: 5h')) + 1;
    const error = failure(broken);
    assert.match(error.message, new RegExp(`policy.yaml:${lineNo}:\\d+: tiers.high.maxTtl`));
    assert.ok(error.fieldErrors?.some((f) => f.path === 'tiers.high.maxTtl' && f.message.startsWith(`line ${lineNo}:`)));
  });

  test('cross-references are checked (unknown tier on a gate)', () => {
    const broken = example.replace('tier: critical\n', 'tier: crit\n');
    const lineNo = broken.split('\n').findIndex((l) => l.includes('tier: crit')) + 1;
    const error = failure(broken);
    assert.ok(error.fieldErrors?.some((f) => f.path === 'gates.4.tier' && f.message === `line ${lineNo}: unknown tier "crit" (tiers: low, high, critical)`));
  });

  test('YAML syntax errors carry a line', () => {
    const error = failure('version: 1\ntiers: [\n  low: {\n');
    assert.match(error.message, /policy.yaml:\d+:\d+: YAML syntax error/);
  });

  test('a reload that fails keeps the last good policy', async () => {
    const path = join(dir, 'policy.yaml');
    await writeFile(path, example);
    const holder = await PolicyHolder.load(path);
    const goodHash = holder.info.hash;
    await writeFile(path, example.replace('version: 1', 'version: 2'));
    await assert.rejects(holder.reload(), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && /version/.test(e.message));
    assert.equal(holder.info.hash, goodHash);
    assert.equal(holder.policy.version, 1);
    await writeFile(path, example.replace('bypassBudget: 6', 'bypassBudget: 7'));
    const { changed } = await holder.reload();
    assert.equal(changed, true);
    assert.equal(holder.policy.teams.payments?.bypassBudget, 7);
  });

  test('a missing file says how to create one', async () => {
    await assert.rejects(PolicyHolder.load(join(dir, 'nope.yaml')), /admin init/);
  });
});
