import { expect, test } from '@playwright/test';
import type { BypassRequest } from '../../shared/domain/request';
import { generateSoftwareKeyPair } from '../../shared/node/signing/software-signer';
import { control, cspViolationsOf, decideAs, ensureConsoleReady, ipc, nav, openConsole, recordWebNotifications, screenshot, shownNotifications, stack, storeCall } from './support/helpers';

/**
 * Honest state, end to end: an offline request page corrected by the verified mirror's newer
 * entries; a revoked token shown as "token rejected" within 2 s with a notification, then signing
 * in again (the store URL pre-filled); a restarted browser host answered by a plain page, and a
 * new link pasted into the same tab picked up. Runs last (it replaces bob's token and restarts
 * the host) and works on its own too.
 */
test.describe.configure({ mode: 'serial' });

/** The bound for a revoked token to show as rejected. */
const TOKEN_REJECTED_WITHIN_MS = 2_000;
const carol = generateSoftwareKeyPair();

const carolDecides = (request: BypassRequest, decision: 'approve' | 'revoke', comment: string) => decideAs('carol', carol.privateKeyPem, request, decision, comment);

test.beforeAll(async () => {
  await control('POST', '/store/start');
  await storeCall('POST', '/v1/admin/approvers/carol/keys', stack().adminToken, { publicKeyPem: carol.publicKeyPem, label: 'session-state e2e' });
});

test('offline, a page visited while active is corrected by the mirror: revoked, as of when, no Revoke', async ({ page }) => {
  await ensureConsoleReady(page);
  const request = (
    await storeCall<{ request: BypassRequest }>('POST', '/v1/requests', stack().tokens.dave!, {
      gate: 'ci-tests',
      scope: { repo: 'mirror-check', branch: 'main' },
      reason: 'Sandbox fixture outage, the suite cannot pass today',
      severity: 'sev3',
      ttl: '1h',
    })
  ).request;
  await carolDecides(request, 'approve', 'outage confirmed');
  // bob looks at it while it is active: that page is what the offline copy holds.
  await nav(page, 'Active');
  await page.getByRole('row', { name: `active bypass ${request.id}` }).getByRole('button', { name: 'ci-tests' }).click();
  await expect(page.getByRole('group', { name: 'request summary' }).getByLabel('state active')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Revoke…' })).toBeEnabled();

  // carol revokes it; the console's mirror syncs the entry (pushed by the event stream).
  await carolDecides({ ...request }, 'revoke', 'fixed forward');
  await expect
    .poll(async () => ((await ipc('console:main:query-ledger', { search: request.id, type: 'bypass_revoked', offset: 0, limit: 10 })).value as { total: number }).total, { timeout: 15_000 })
    .toBe(1);

  await control('POST', '/store/stop');
  try {
    await expect(page.getByRole('status', { name: 'offline banner' })).toContainText('Offline since', { timeout: 30_000 });
    await nav(page, 'Ledger');
    await page.getByLabel('Search target, actor, reason, incident…').fill(request.id);
    const created = page.getByRole('table', { name: 'Ledger entries' }).getByRole('row', { name: /request_created/ });
    await expect(created).toHaveCount(1);
    // The list re-renders as the mirror's pages load: click until the entry's detail is open.
    await expect(async () => {
      await created.click();
      await expect(page.getByRole('button', { name: 'Open request' })).toBeVisible({ timeout: 2_000 });
    }).toPass({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Open request' }).click();
    const summary = page.getByRole('group', { name: 'request summary' });
    await expect(summary.getByLabel('state revoked')).toBeVisible();
    await expect(summary).toContainText(/local copy as of \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    await expect(page.getByRole('button', { name: 'Revoke…' })).toHaveCount(0);
    await screenshot(page, 'offline-request-corrected');
  } finally {
    await control('POST', '/store/start');
  }
  await expect(page.getByRole('status', { name: 'offline banner' })).toBeHidden({ timeout: 30_000 });
});

test('a revoked token shows as "token rejected" within 2 s, notified once (also as a Web notification); signing in again starts from the remembered store', async ({ page, context }) => {
  const s = stack();
  await context.grantPermissions(['notifications']);
  await recordWebNotifications(page);
  await ensureConsoleReady(page);
  await expect(page.getByRole('status', { name: 'session connected' })).toBeVisible({ timeout: 15_000 });
  const { tokens } = await storeCall<{ tokens: { id: string; principal: string; revokedAt: string | null }[] }>('GET', '/v1/admin/tokens', s.adminToken);
  const bobs = tokens.filter((t) => t.principal === 'bob' && !t.revokedAt);
  expect(bobs.length).toBeGreaterThan(0);
  const started = Date.now();
  for (const token of bobs) await storeCall('DELETE', `/v1/admin/tokens/${token.id}`, s.adminToken);
  const banner = page.getByRole('alert', { name: 'token rejected banner' });
  await expect(banner).toBeVisible({ timeout: TOKEN_REJECTED_WITHIN_MS });
  expect(Date.now() - started).toBeLessThanOrEqual(TOKEN_REJECTED_WITHIN_MS + 500);
  await expect(banner).toContainText('sign in again');
  await expect(page.getByRole('status', { name: 'session token rejected' })).toBeVisible();
  await expect
    .poll(async () => (await control<{ notifications: { kind: string; title: string }[] }>('GET', '/notifications')).notifications.filter((n) => n.kind === 'session' && /token rejected/.test(n.title)).length)
    .toBe(1);
  // The renderer shows the same one through the Web Notifications API (the browser host's path).
  const rejectedShown = async () => (await shownNotifications(page)).filter((n) => n.tag === 'session:session' && /token rejected/.test(n.title)).length;
  await expect.poll(rejectedShown).toBe(1);
  await screenshot(page, 'token-rejected');
  await page.setViewportSize({ width: 1024, height: 700 });
  await screenshot(page, 'token-rejected-1024');
  await page.setViewportSize({ width: 1440, height: 900 });

  expect(await rejectedShown(), 'token rejected is notified once').toBe(1);
  await banner.getByRole('button', { name: 'Sign in again' }).click();
  await expect(page.getByRole('heading', { name: 'Set up the Breakglass console' })).toBeVisible();
  await expect(page.getByLabel('Grant store URL')).toHaveValue(s.storeUrl);
  const fresh = await storeCall<{ token: string }>('POST', '/v1/admin/tokens', s.adminToken, { principal: 'bob', roles: ['approver', 'requester'] });
  await page.getByLabel('API token').fill(fresh.token);
  await page.getByLabel('software key', { exact: true }).check();
  await page.getByRole('button', { name: 'Connect and create key' }).click();
  const pem = (await page.getByLabel('public key PEM').textContent()) ?? '';
  const enrollment = page.getByRole('status', { name: 'enrollment' });
  if (!(await enrollment.textContent())?.includes('enrolled: the store accepts')) {
    await storeCall('POST', '/v1/admin/approvers/bob/keys', s.adminToken, { publicKeyPem: pem.trim(), label: 'session-state e2e' });
  }
  // The enrollment step stays until bob moves on and sees the enrollment by itself.
  await expect(enrollment).toContainText('enrolled: the store accepts this key');
  await page.getByRole('button', { name: 'Open the console' }).click();
  await expect(page.getByRole('status', { name: 'session connected' })).toBeVisible({ timeout: 15_000 });
});

test('browser host: desktop notifications through the Web Notifications API once allowed from Settings, and a title badge', async ({ page, context }) => {
  await context.grantPermissions(['notifications']);
  await recordWebNotifications(page);
  await ensureConsoleReady(page);
  await nav(page, 'Settings');
  await expect(page.getByLabel('desktop notifications state')).toContainText('Allowed');
  await nav(page, 'Inbox');
  const filed = (
    await storeCall<{ request: BypassRequest }>('POST', '/v1/requests', stack().tokens.alice!, {
      gate: 'ci-tests',
      scope: { repo: 'notify-me', branch: 'main' },
      reason: 'Checkout hotfix blocked by the flaky suite',
      severity: 'sev1',
      ttl: '1h',
      incidentRef: 'INC-7001',
    })
  ).request;
  const shown = async () => (await shownNotifications(page)).map((n) => n.title);
  await expect.poll(async () => (await shown()).filter((t) => t.includes('SEV1') && t.includes('ci-tests')).length, { timeout: 15_000 }).toBe(1);
  await expect.poll(() => page.title()).toMatch(/^\(\d+\) Breakglass console$/);
  await page.waitForTimeout(1_000);
  expect((await shown()).filter((t) => t.includes('SEV1') && t.includes('ci-tests')).length, 'once').toBe(1);
  await storeCall('POST', `/v1/requests/${filed.id}/cancel`, stack().tokens.alice!, { comment: 'not needed' });
});

test('a restarted browser host gets a plain "link no longer valid" page; the new link pasted into the tab works', async ({ page }) => {
  await openConsole(page);
  await expect(page.getByRole('navigation', { name: 'Main navigation' })).toBeVisible();
  const restarted = await control<{ openUrl: string; token: string }>('POST', '/host/restart?token=new');
  try {
    await expect(page.getByRole('heading', { name: 'This console link is no longer valid' })).toBeVisible({ timeout: 20_000 });
    await expect(page.getByText('Open the new link')).toBeVisible();
    await expect(page.getByText(/x-breakglass-token/)).toHaveCount(0);
    await screenshot(page, 'link-no-longer-valid');
    // Pasting the new link into the same tab: hashchange takes the token, no manual reload.
    await page.evaluate((hash) => ((globalThis as unknown as { location: { hash: string } }).location.hash = hash), new URL(restarted.openUrl).hash);
    await expect(page.getByRole('navigation', { name: 'Main navigation' })).toBeVisible({ timeout: 15_000 });
    expect(page.url()).not.toContain('token=');
  } finally {
    // Back to the stack's own token, so its StackInfo stays true for whatever runs next.
    await control('POST', '/host/restart?token=original');
  }
  expect(cspViolationsOf(page)).toEqual([]);
});
