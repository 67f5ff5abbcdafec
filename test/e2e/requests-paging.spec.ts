import { expect, test, type Locator } from '@playwright/test';
import type { BypassRequest } from '../../shared/domain/request';
import { control, cspViolationsOf, ensureConsoleReady, ipc, nav, screenshot, stack, storeCall } from './support/helpers';

/**
 * The Requests screen reads a page at a time (the stack's console: E2E_LIST_PAGE per page): it
 * shows the newest page, and Show more (here pressed from the keyboard) adds the next until the
 * store has no more, every request shown once in the store's order; a filter change starts again
 * from the first page; a request filed meanwhile appears at the top by itself (the store's push).
 * Works after the other specs or on its own.
 */
test.describe.configure({ mode: 'serial' });

const VIEWPORTS = [
  { width: 1440, height: 900 },
  { width: 1024, height: 700 },
] as const;

/** The requests bob files for this spec, oldest first; cancelled afterwards so later specs see none of them open. */
const filed: BypassRequest[] = [];
let didSetup = false;

test.beforeAll(async () => {
  const s = stack();
  await control('POST', '/store/start');
  // Two pages and one more row, so a Show more leaves the control in place and the next one ends the list.
  // Severities alternate, so a list sorted by severity would not be the store's order.
  for (let i = 0; i <= 2 * s.requestPageSize; i++) {
    const { request } = await storeCall<{ request: BypassRequest }>('POST', '/v1/requests', s.tokens.bob!, {
      gate: 'ci-tests',
      scope: { repo: `paging-req-${i}`, branch: 'main' },
      reason: `Suite of paging-req-${i} is red on a fixture outage`,
      severity: i % 2 === 0 ? 'sev4' : 'sev3',
      ttl: '15m',
    });
    filed.push(request);
  }
});

test.afterAll(async () => {
  const s = stack();
  for (const request of filed) await storeCall('POST', `/v1/requests/${request.id}/cancel`, s.tokens.bob!, { comment: 'requests paging e2e done' });
  if (didSetup) {
    const result = await ipc('console:main:sign-out', { forgetKey: true });
    if (!result.ok) throw new Error(`sign-out failed: ${result.error?.message}`);
  }
});

/** The request ids of the rows shown, top to bottom (each row is labelled "<id> <gate> requested by <name>"). */
async function shownIds(rows: Locator): Promise<string[]> {
  return Promise.all((await rows.all()).map(async (row) => ((await row.getAttribute('aria-label')) ?? '').split(' ')[0]!));
}

/** The requests bob may see under `query`, every page at once: the store's order. */
async function storeList(query: string): Promise<string[]> {
  return (await storeCall<{ requests: BypassRequest[] }>('GET', `/v1/requests?${query}&limit=5000`, stack().tokens.bob!)).requests.map((r) => r.id);
}

test('Mine only: the newest page first, Show more from the keyboard adds the next pages until every request is shown once; a filter change starts from the first page', async ({ page }) => {
  const s = stack();
  const size = s.requestPageSize;
  didSetup = await ensureConsoleReady(page);
  await nav(page, 'All requests');
  const table = page.getByRole('table', { name: 'Requests' });
  const rows = table.getByRole('row', { name: /^req_/ });
  const more = page.getByRole('button', { name: 'Show more' });

  await page.getByLabel('Mine only').check();
  const mine = await storeList('state=open&requester=bob');
  expect(mine).toEqual(expect.arrayContaining(filed.map((r) => r.id)));
  await expect(rows).toHaveCount(size);
  expect(await shownIds(rows)).toEqual(mine.slice(0, size));
  await expect(more).toBeVisible();
  await expect(page.getByText(`${size} newest shown`)).toBeVisible();
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    await more.scrollIntoViewIfNeeded();
    await screenshot(page, `requests-show-more-${viewport.width}`);
  }
  await page.setViewportSize(VIEWPORTS[0]);

  // From the keyboard: the button keeps the focus while a page loads, so Enter again asks for the next.
  await more.focus();
  const pages = Math.ceil(mine.length / size);
  for (let shown = 1; shown < pages; shown++) {
    await expect(more).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(rows).toHaveCount(Math.min(mine.length, (shown + 1) * size));
  }
  await expect(more).toHaveCount(0);
  expect(await shownIds(rows)).toEqual(mine);

  // Another filter: its own first page, not the pages loaded under the last one.
  await page.getByLabel('Mine only').uncheck();
  const open = await storeList('state=open');
  expect(open.length).toBeGreaterThan(size);
  await expect.poll(() => shownIds(rows)).toEqual(open.slice(0, size));
  await expect(more).toBeVisible();
  await more.click();
  await expect.poll(() => shownIds(rows)).toEqual(open.slice(0, 2 * size));
  expect(cspViolationsOf(page)).toEqual([]);
});

test('a request filed while the list is open appears at the top by itself, and the pages shown stay in the store order', async ({ page }) => {
  const s = stack();
  const size = s.requestPageSize;
  didSetup = (await ensureConsoleReady(page)) || didSetup;
  await nav(page, 'All requests');
  const table = page.getByRole('table', { name: 'Requests' });
  const rows = table.getByRole('row', { name: /^req_/ });
  const more = page.getByRole('button', { name: 'Show more' });
  await page.getByLabel('Mine only').uncheck();
  await expect.poll(() => shownIds(rows)).toEqual((await storeList('state=open')).slice(0, size));
  await more.click();
  await expect(rows).toHaveCount(2 * size);

  // Filed by someone else through the API: nothing on this screen is touched.
  const { request } = await storeCall<{ request: BypassRequest }>('POST', '/v1/requests', s.tokens.bob!, {
    gate: 'ci-tests',
    scope: { repo: 'paging-req-live', branch: 'main' },
    reason: 'Suite of paging-req-live is red on a fixture outage',
    severity: 'sev4',
    ttl: '15m',
  });
  filed.push(request);
  // The two pages shown are read again from the newest: the new request first, the rest moved down one.
  const open = await storeList('state=open');
  expect(open[0]).toBe(request.id);
  await expect.poll(() => shownIds(rows), { timeout: 10_000 }).toEqual(open.slice(0, 2 * size));
  await expect(more).toBeVisible();
});
