import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BypassIndex } from '../../../../grant-store/checks/bypass-index';
import type { BypassRequest } from '../../../../shared/domain/request';
import { scopeRuleOf } from '../../../../shared/policy/scope-rules';

const NOW = Date.parse('2026-06-22T03:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
let counter = 0;

function bypass(gate: string, scope: Record<string, string>, expiresInMs = 60_000, overrides: Partial<BypassRequest> = {}): BypassRequest {
  counter++;
  const id = `req_${String(counter).padStart(16, '0')}`;
  return {
    id,
    requester: 'alice',
    team: 'payments',
    gate,
    scope,
    reason: 'flaky suite blocks the hotfix',
    incidentRef: null,
    severity: 'sev3',
    ttl: '1h',
    extends: null,
    createdAt: iso(NOW),
    digest: `sha256:${'0'.repeat(64)}`,
    state: 'active',
    tier: 'standard',
    gateKind: 'slow',
    approvalsRequired: 1,
    approvals: [],
    messages: [],
    standingScope: null,
    bypassId: `byp_${String(counter).padStart(16, '0')}`,
    approvedTtl: '1h',
    activatedAt: iso(NOW),
    expiresAt: iso(NOW + expiresInMs),
    closedAt: null,
    lapsesAt: null,
    updatedAt: iso(NOW),
    closeComment: null,
    closedBy: null,
    ...overrides,
  };
}

describe('BypassIndex', () => {
  test('matches only the same gate and a subject carrying every scope attribute', () => {
    const index = new BypassIndex();
    const b = bypass('unit-tests', { repo: 'payments-api', branch: 'main' });
    index.upsert(b);
    assert.equal(index.match('unit-tests', { repo: 'payments-api', branch: 'main' }, NOW)?.id, b.id);
    assert.equal(index.match('unit-tests', { repo: 'payments-api', branch: 'main', sha: 'abc' }, NOW)?.id, b.id, 'extra subject attributes are fine');
    assert.equal(index.match('unit-tests', { repo: 'payments-api' }, NOW), undefined, 'a missing attribute is not');
    assert.equal(index.match('unit-tests', { repo: 'payments-api', branch: 'dev' }, NOW), undefined);
    assert.equal(index.match('e2e', { repo: 'payments-api', branch: 'main' }, NOW), undefined, 'never another gate');
    assert.equal(index.match('unit-tests', { branch: 'main' }, NOW), undefined);
  });

  test('expiry is exact: a bypass past its window never matches, even before removal', () => {
    const index = new BypassIndex();
    const b = bypass('unit-tests', { repo: 'a' }, 1_000);
    index.upsert(b);
    assert.equal(index.match('unit-tests', { repo: 'a' }, NOW + 999)?.id, b.id);
    assert.equal(index.match('unit-tests', { repo: 'a' }, NOW + 1_000), undefined);
    assert.equal(index.size, 1);
    assert.equal(index.pruneExpired(NOW + 1_000), 1);
    assert.equal(index.size, 0);
  });

  test('removal, replacement and non-active requests', () => {
    const index = new BypassIndex();
    const b = bypass('unit-tests', { repo: 'a' });
    index.upsert(b);
    index.upsert({ ...b, state: 'revoked' });
    assert.equal(index.match('unit-tests', { repo: 'a' }, NOW), undefined, 'an update to a closed state removes it');
    index.upsert(b);
    index.upsert({ ...b, scope: { repo: 'b' } });
    assert.equal(index.match('unit-tests', { repo: 'a' }, NOW), undefined, 'a replaced scope is re-indexed');
    assert.equal(index.match('unit-tests', { repo: 'b' }, NOW)?.id, b.id);
    index.remove(b.id);
    assert.equal(index.size, 0);
    assert.equal(index.match('unit-tests', { repo: 'b' }, NOW), undefined);
    index.upsert(bypass('unit-tests', { repo: 'c' }, 60_000, { state: 'pending' }));
    assert.equal(index.size, 0);
  });

  test('under the gate\'s scope rule, a bypass lacking a declared key never matches; the longest-lasting full one still does', () => {
    const index = new BypassIndex();
    const rule = scopeRuleOf({ id: 'ci-tests', kind: 'slow', tier: 'low', scopeKeys: ['repo', 'branch'], allowExtraSubjectKeys: true });
    const wide = bypass('ci-tests', { branch: 'main' }, 120_000);
    const full = bypass('ci-tests', { repo: 'payments-api', branch: 'main' }, 60_000);
    index.upsert(wide);
    index.upsert(full);
    assert.equal(index.match('ci-tests', { repo: 'totally-unrelated-repo', branch: 'main' }, NOW, rule), undefined);
    assert.equal(index.match('ci-tests', { repo: 'payments-api', branch: 'main' }, NOW, rule)?.id, full.id);
    assert.equal(index.match('ci-tests', { repo: 'totally-unrelated-repo', branch: 'main' }, NOW)?.id, wide.id, 'without the rule: plain coverage');
  });

  test('when several cover the subject, the longest-lasting wins', () => {
    const index = new BypassIndex();
    const short = bypass('unit-tests', { repo: 'a' }, 10_000);
    const long = bypass('unit-tests', { branch: 'main' }, 90_000);
    const middle = bypass('unit-tests', { repo: 'a', branch: 'main' }, 50_000);
    for (const b of [short, long, middle]) index.upsert(b);
    assert.equal(index.match('unit-tests', { repo: 'a', branch: 'main' }, NOW)?.id, long.id);
    assert.equal(index.match('unit-tests', { repo: 'a', branch: 'main' }, NOW + 90_000), undefined);
    assert.equal(index.match('unit-tests', { repo: 'a', branch: 'dev' }, NOW)?.id, short.id);
  });

  test('10,000 bypasses on one gate: correct answers for hits and misses', () => {
    const index = new BypassIndex();
    for (let i = 0; i < 10_000; i++) index.upsert(bypass('unit-tests', { repo: `repo-${i}`, branch: 'main' }));
    assert.equal(index.size, 10_000);
    assert.equal(index.match('unit-tests', { repo: 'repo-4242', branch: 'main' }, NOW)?.scope.repo, 'repo-4242');
    assert.equal(index.match('unit-tests', { repo: 'repo-4242', branch: 'dev' }, NOW), undefined);
    assert.equal(index.match('unit-tests', { repo: 'repo-x', branch: 'main' }, NOW), undefined);
  });
});

test('BypassIndex: a shared attribute does not pile every bypass into one bucket', () => {
  const index = new BypassIndex();
  for (let i = 0; i < 10_000; i++) index.upsert(bypass('unit-tests', { repo: `repo-${i}`, branch: 'main' }));
  // Anchored on the smallest bucket at insertion: each repo gets its own, branch=main keeps one.
  assert.ok(index.largestBucket('unit-tests') <= 2, `largest bucket ${index.largestBucket('unit-tests')}`);
  for (let i = 0; i < 10_000; i += 997) assert.equal(index.match('unit-tests', { repo: `repo-${i}`, branch: 'main' }, NOW)?.scope.repo, `repo-${i}`);
});
