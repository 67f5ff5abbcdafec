import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../../grant-store/cli/main';
import { LIST_PAGE_ENV } from '../../../grant-store/cli/list-pages';
import type { BypassRequest } from '../../../shared/domain/request';
import type { Review } from '../../../shared/domain/review';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { waitFor } from '../grant-store/workflow-helpers';

// Standing scope: each request is active on filing, and its review opens when it expires.
const POLICY = `version: 1
ttlChoices: [15m, 1h]
tiers:
  low: { approvals: 1, approverGroups: [leads], maxTtl: 1h }
gates:
  - { id: ci-tests, kind: slow, tier: low, scopeKeys: [repo, branch] }
teams:
  payments: { members: [alice] }
  platform: { members: [bob] }
approvers:
  leads: [bob]
standingScopes:
  - id: nightly
    gate: ci-tests
    team: payments
    scope: { branch: main }
    maxTtl: 1h
    approvedBy: [bob]
    validUntil: "2099-12-31"
    reason: the nightly suite reruns on main; a hotfix may ship before it ends
`;
const REQUESTS = 5;

/** A CLI run in this process, its stdout kept as the chunks it was written in (one per page, then the end). */
async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; chunks: string[]; stdout: string; stderr: string }> {
  const chunks: string[] = [];
  let stderr = '';
  const code = await main(args, { stdout: (t) => void chunks.push(t), stderr: (t) => void (stderr += t) }, env);
  return { code, chunks, stdout: chunks.join(''), stderr };
}

/** `request list` and `review list` read the store page by page and print each page as it comes. */
describe('CLI paged lists: request list --limit past a page, review list page by page', () => {
  let fx: StoreFixture;
  let tmp: string;
  let env: Record<string, string>;
  let requests: BypassRequest[];
  let reviews: Review[];

  before(async () => {
    fx = await startStoreFixture({ policyYaml: POLICY });
    tmp = await mkdtemp(join(tmpdir(), 'bg-paged-lists-'));
    const alice = await fx.token('alice', ['requester']);
    for (let i = 0; i < REQUESTS; i++) {
      const created = await fx.call('POST', '/v1/requests', { token: alice, body: { gate: 'ci-tests', scope: { repo: `svc-${i}`, branch: 'main' }, reason: `nightly suite still running for svc-${i}`, severity: 'sev4', ttl: '15m' } });
      assert.equal(created.json?.request?.state, 'active', created.text);
    }
    fx.clock.advance(16 * 60_000);
    await waitFor(async () => ((await fx.call('GET', '/v1/reviews', { token: fx.adminToken })).json.reviews.length === REQUESTS ? true : undefined), 10_000);
    requests = (await fx.call('GET', '/v1/requests?limit=5000', { token: fx.adminToken })).json.requests;
    reviews = (await fx.call('GET', '/v1/reviews?limit=5000', { token: fx.adminToken })).json.reviews;
    assert.equal(requests.length, REQUESTS);
    env = { BREAKGLASS_STORE: fx.url, BREAKGLASS_TOKEN: fx.adminToken, XDG_CONFIG_HOME: join(tmp, 'config'), HOME: tmp, [LIST_PAGE_ENV]: '2' };
  });
  after(async () => {
    await fx?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('request list --limit N past a page: exactly the N newest, fetched in pages, the --json document of one read', async () => {
    const three = await cli(['request', 'list', '--limit', '3', '--json'], env);
    assert.equal(three.code, 0, three.stderr);
    assert.equal(three.stdout, `${JSON.stringify({ requests: requests.slice(0, 3) }, null, 2)}\n`);
    assert.equal(three.chunks.length, 3, 'a page of 2, a page of 1, the end');
    const all = await cli(['request', 'list', '--limit', '7', '--json'], env);
    assert.equal(all.stdout, `${JSON.stringify({ requests }, null, 2)}\n`, 'a limit past the end: every request');
    const table = await cli(['request', 'list', '--limit', '4'], env);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID +STATE +GATE +REQUESTER +SCOPE +TTL +EXPIRES$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/ +/)[0]), requests.slice(0, 4).map((r) => r.id));
    const none = await cli(['request', 'list', '--state', 'denied', '--json'], env);
    assert.equal(none.stdout, '{\n  "requests": []\n}\n');
  });

  test('review list: every review, page by page, written as each page arrives; the same text with one page', async () => {
    const paged = await cli(['review', 'list', '--state', 'all', '--json'], env);
    assert.equal(paged.code, 0, paged.stderr);
    assert.equal(paged.stdout, `${JSON.stringify({ reviews }, null, 2)}\n`);
    assert.equal(paged.chunks.length, Math.ceil(REQUESTS / 2) + 1, 'one write per page of 2, then the end');
    const whole = await cli(['review', 'list', '--state', 'all', '--json'], { ...env, [LIST_PAGE_ENV]: '' });
    assert.equal(whole.stdout, paged.stdout);
    assert.equal(whole.chunks.length, 2, 'the default page holds them all');
    const table = await cli(['review', 'list'], env);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID +STATE +REQUEST +GATE +REQUESTER +OPENED +FINDING$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/ +/)[0]), reviews.map((r) => r.id));
    assert.equal((await cli(['review', 'list', '--state', 'reviewed'], env)).stdout, 'no reviews match\n');
  });

  test('bad page size or limit: exit 2 naming the variable or the flag', async () => {
    const size = await cli(['review', 'list'], { ...env, [LIST_PAGE_ENV]: '0' });
    assert.equal(size.code, 2);
    assert.match(size.stderr, new RegExp(`${LIST_PAGE_ENV}: must be a whole number of rows per page from 1 to 5000 \\(got "0"\\)`));
    const limit = await cli(['request', 'list', '--limit', '0'], env);
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit: /);
  });
});
