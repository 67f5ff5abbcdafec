import { expect, test } from '@playwright/test';
import type { BypassRequest } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';
import { generateSoftwareKeyPair } from '../../shared/node/signing/software-signer';
import { control, cspViolationsOf, decideAs, ensureConsoleReady, ipc, nav, screenshot, stack, storeCall } from './support/helpers';

/**
 * The Reviews screen reads its lists a page at a time (the stack's console: E2E_LIST_PAGE per
 * page): the Completed list shows the newest page, and Show more adds the next until the store
 * has no more, every completed review shown once. Works after the other specs or on its own.
 */
test.describe.configure({ mode: 'serial' });

const carol = generateSoftwareKeyPair();
/** The reviews this spec completes, oldest opened first. */
const completed: Review[] = [];
let didSetup = false;

const carolDecides = (request: BypassRequest, decision: 'approve' | 'revoke', comment: string) => decideAs('carol', carol.privateKeyPem, request, decision, comment);

test.beforeAll(async () => {
  const s = stack();
  await control('POST', '/store/start');
  await storeCall('POST', '/v1/admin/approvers/carol/keys', s.adminToken, { publicKeyPem: carol.publicKeyPem, label: 'reviews paging e2e' });
  // One more completed review than a page holds: bypasses carol approves and revokes, signed off by an admin.
  for (let i = 0; i <= s.reviewPageSize; i++) {
    const { request } = await storeCall<{ request: BypassRequest }>('POST', '/v1/requests', s.tokens.dave!, {
      gate: 'ci-tests',
      scope: { repo: `paging-svc-${i}`, branch: 'main' },
      reason: `Nightly suite of paging-svc-${i} is red on a fixture outage`,
      severity: 'sev4',
      ttl: '15m',
    });
    await carolDecides(request, 'approve', 'fixture outage confirmed');
    await carolDecides(request, 'revoke', 'fixture is back');
    const open = await storeCall<{ reviews: Review[] }>('GET', '/v1/reviews?state=review_open', s.adminToken);
    const review = open.reviews.find((r) => r.requestId === request.id);
    if (!review) throw new Error(`no open review for ${request.id}`);
    completed.push(await storeCall<Review>('POST', `/v1/reviews/${review.id}/complete`, s.adminToken, { finding: 'justified', note: 'Fixture outage, bypass scoped to one repo and revoked.' }));
  }
});

test.afterAll(async () => {
  if (didSetup) {
    const result = await ipc('console:main:sign-out', { forgetKey: true });
    if (!result.ok) throw new Error(`sign-out failed: ${result.error?.message}`);
  }
});

test('Completed reviews: the newest page first, Show more adds the next pages until every review is shown once', async ({ page }) => {
  const s = stack();
  didSetup = await ensureConsoleReady(page);
  await nav(page, 'Reviews');
  await page.getByRole('tab', { name: 'Completed' }).click();
  const table = page.getByRole('table', { name: 'Reviews' });
  const reviewButtons = table.getByRole('button', { name: /, review rev_/ });
  const newest = completed[completed.length - 1]!;
  const oldest = completed[0]!;
  await expect(table.getByRole('button', { name: `ci-tests, review ${newest.id}` })).toBeVisible();
  await expect(reviewButtons).toHaveCount(s.reviewPageSize);
  await expect(table.getByRole('button', { name: `ci-tests, review ${oldest.id}` })).toHaveCount(0);
  const more = page.getByRole('button', { name: 'Show more' });
  await expect(more).toBeVisible();
  await screenshot(page, 'reviews-show-more');

  await more.click();
  await expect(table.getByRole('button', { name: `ci-tests, review ${oldest.id}` })).toBeVisible();
  // Every completed review bob may see, each once, newest opened first, as the store lists them.
  const all = (await storeCall<{ reviews: Review[] }>('GET', '/v1/reviews?state=reviewed&limit=5000', s.tokens.bob!)).reviews;
  for (let pages = 2; await more.isVisible(); pages++) {
    expect(pages, 'the pages end').toBeLessThanOrEqual(Math.ceil(all.length / s.reviewPageSize));
    await more.click();
    await expect(reviewButtons).toHaveCount(Math.min(all.length, (pages + 1) * s.reviewPageSize));
  }
  await expect(reviewButtons).toHaveCount(all.length);
  const shown = await Promise.all((await reviewButtons.all()).map(async (b) => /review (rev_\w+)/.exec((await b.getAttribute('aria-label')) ?? '')?.[1]));
  expect(shown).toEqual(all.map((r) => r.id));
  expect(cspViolationsOf(page)).toEqual([]);
});
