import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test, type Page } from '@playwright/test';
import type { BypassRequest } from '../../shared/domain/request';
import { generateSoftwareKeyPair } from '../../shared/node/signing/software-signer';
import { control, cspViolationsOf, decideAs, ensureConsoleReady as ensureReady, ipc, nav, screenshot, stack, storeCall } from './support/helpers';

/**
 * Every screen and state at 1440×900 and 1024×700: axe-core finds no critical or serious
 * violation, nothing is clipped off the right edge (buttons, table actions), and a screenshot is
 * written for each (test-results/screenshots/screens-<width>-<screen>.png). Then an approval done
 * with the keyboard only. Works after console.spec.ts or on its own (it sets the console up).
 */
test.describe.configure({ mode: 'serial' });

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const VIEWPORTS = [
  { width: 1440, height: 900 },
  { width: 1024, height: 700 },
] as const;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

const ids: Record<string, string> = {};
let didSetup = false;
const carol = generateSoftwareKeyPair();

async function file(principal: string, body: Record<string, unknown>): Promise<BypassRequest> {
  return (await storeCall<{ request: BypassRequest }>('POST', '/v1/requests', stack().tokens[principal]!, body)).request;
}

const carolDecides = (request: BypassRequest, decision: 'approve' | 'revoke', comment: string) => decideAs('carol', carol.privateKeyPem, request, decision, comment);

test.beforeAll(async () => {
  const s = stack();
  await control('POST', '/store/start');
  await storeCall('POST', '/v1/admin/approvers/carol/keys', s.adminToken, { publicKeyPem: carol.publicKeyPem, label: 'screens e2e' });
  // A sev1 on the hardware tier with a long scope (chips must wrap, not cut), a two-approver
  // critical request, an active bypass (Active's Revoke must not clip) and a revoked one (a review).
  ids.wide = (
    await file('alice', {
      gate: 'deploy-prod',
      scope: { repo: 'payments-api-checkout-frontend-eu', branch: 'release/2026-11-30-tls-bundle-rotation-hotfix' },
      reason: 'Card payments fail for EU customers after the TLS bundle rotation; the signed hotfix is blocked by a stale provenance cache on the deploy gate',
      severity: 'sev1',
      ttl: '1h',
      incidentRef: 'INC-5120',
    })
  ).id;
  ids.twoKey = (await file('dave', { gate: 'container-signing', scope: { repo: 'base-images', branch: 'main' }, reason: 'Base image rebuild must be admitted while the signer rotates', severity: 'sev3', ttl: '1h' })).id;
  const active = await file('dave', { gate: 'ci-tests', scope: { repo: 'ledger-svc', branch: 'release-2026.11' }, reason: 'Sandbox fixture is down for the afternoon', severity: 'sev3', ttl: '4h' });
  await carolDecides(active, 'approve', 'sandbox outage confirmed');
  ids.active = active.id;
  const revoked = await file('dave', { gate: 'ci-tests', scope: { repo: 'ledger-svc', branch: 'hotfix-77' }, reason: 'Hotfix for the ledger export needs the suite skipped', severity: 'sev4', ttl: '1h' });
  await carolDecides(revoked, 'approve', 'small hotfix');
  await carolDecides({ ...revoked }, 'revoke', 'fixed forward instead');
});

async function ensureConsoleReady(page: Page): Promise<void> {
  if (await ensureReady(page, () => axeClean(page, 'setup'))) didSetup = true;
}

/** Critical and serious axe findings per screen, asserted at the end of each test (so one run shows them all). */
let findings: { screen: string; violations: unknown[] }[] = [];

/** axe-core on the page as it is now: critical or serious violations are recorded for the end of the test. */
async function axeClean(page: Page, screen: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run({ exclude: [] }, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
  const bad = violations.filter((v) => v.impact === 'critical' || v.impact === 'serious');
  if (bad.length) findings.push({ screen, violations: bad });
}

/** Nothing sticks out past the right edge: no page-wide horizontal scroll, every visible button inside the window. */
async function nothingClipped(page: Page, screen: string): Promise<void> {
  const clipped = await page.evaluate(() => {
    const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number }; querySelectorAll(s: string): ArrayLike<{ getBoundingClientRect(): { left: number; right: number; width: number; height: number }; textContent: string | null; getAttribute(n: string): string | null; closest(s: string): unknown }> } }).document;
    const width = doc.documentElement.clientWidth;
    const out: string[] = [];
    if (doc.documentElement.scrollWidth > width + 1) out.push(`page scrolls sideways (${doc.documentElement.scrollWidth} > ${width})`);
    for (const el of Array.from(doc.querySelectorAll('button, a[href], input, select, [role="columnheader"]'))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || el.closest('.sr-only, .skip-link')) continue;
      if (r.right > width + 1 || r.left < -1) out.push(`${el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 40)} at ${Math.round(r.left)}–${Math.round(r.right)}`);
    }
    return out;
  });
  expect(clipped, `${screen} at ${page.viewportSize()?.width}px`).toEqual([]);
}

async function check(page: Page, screen: string): Promise<void> {
  const width = page.viewportSize()!.width;
  await axeClean(page, screen);
  await nothingClipped(page, screen);
  await screenshot(page, `screens-${width}-${screen}`);
}

for (const viewport of VIEWPORTS) {
  test(`every screen at ${viewport.width}×${viewport.height}: axe clean, nothing clipped`, async ({ page }) => {
    test.setTimeout(180_000);
    findings = [];
    await page.setViewportSize(viewport);
    await ensureConsoleReady(page);

    await nav(page, 'Inbox');
    const row = page.getByRole('row', { name: new RegExp(ids.wide!) });
    await expect(row).toBeVisible();
    // The reason is there on one line; the scope is whole (chips wrap rather than cut).
    await expect(row).toContainText('Card payments fail for EU customers');
    const scopeCell = row.getByRole('cell').filter({ has: page.getByLabel(/^scope /) });
    const cellBox = (await scopeCell.boundingBox())!;
    for (const chip of ['repo=payments-api-checkout-frontend-eu', 'branch=release/2026-11-30-tls-bundle-rotation-hotfix']) {
      const box = (await row.locator('.chip', { hasText: chip }).boundingBox())!;
      expect(box.x + box.width, `${chip} is cut off`).toBeLessThanOrEqual(cellBox.x + cellBox.width + 1);
    }
    await expect(row.getByLabel(/decision due/)).toBeVisible();
    await check(page, 'inbox');

    await row.click();
    await expect(page.getByRole('heading', { name: 'deploy-prod' })).toBeVisible();
    await check(page, 'request');

    const approve = page.getByRole('button', { name: 'Approve…' });
    if (await approve.isEnabled()) {
      await approve.click();
      const dialog = page.getByRole('dialog', { name: 'Confirm approval' });
      await expect(dialog.getByLabel('request digest')).toBeVisible();
      await check(page, 'approve-dialog');
      await page.keyboard.press('Escape');
      await expect(dialog).toBeHidden();
    }
    await page.getByRole('button', { name: 'Deny…' }).click();
    const deny = page.getByRole('dialog', { name: 'Deny request' });
    await expect(deny).toBeVisible();
    await check(page, 'deny-dialog');
    await page.keyboard.press('Escape');
    await expect(deny).toBeHidden();

    await nav(page, 'All requests');
    await expect(page.getByRole('heading', { name: /requests/i }).first()).toBeVisible();
    await check(page, 'requests');

    await nav(page, 'Active');
    const activeRow = page.getByRole('row', { name: `active bypass ${ids.active}` });
    await expect(activeRow).toBeVisible();
    // Other specs' bypasses may sort first: bring the row up, then Revoke must be wholly on screen (not clipped at the right).
    const revoke = activeRow.getByRole('button', { name: `Revoke ${ids.active}` });
    await revoke.scrollIntoViewIfNeeded();
    await expect(revoke).toBeInViewport({ ratio: 1 });
    await check(page, 'active');

    await nav(page, 'Reviews');
    await expect(page.getByRole('table', { name: 'Reviews' })).toBeVisible();
    await check(page, 'reviews');

    await nav(page, 'Ledger');
    await expect(page.getByRole('table', { name: 'Ledger entries' }).getByRole('row', { name: /ledger entry \d+/ }).first()).toBeVisible({ timeout: 30_000 });
    await check(page, 'ledger');

    await nav(page, 'Gate health');
    await expect(page.getByRole('heading', { name: 'Gate health' })).toBeVisible();
    await check(page, 'gate-health');

    await nav(page, 'Settings');
    await expect(page.getByLabel('principal')).toHaveText('bob');
    await check(page, 'settings');

    // Offline: the banner says since when, the request page says why actions are off.
    await control('POST', '/store/stop');
    try {
      await expect(page.getByRole('status', { name: 'offline banner' })).toContainText('Offline since', { timeout: 30_000 });
      await nav(page, 'Inbox');
      await check(page, 'offline-inbox');
    } finally {
      await control('POST', '/store/start');
    }
    await expect(page.getByRole('status', { name: 'offline banner' })).toBeHidden({ timeout: 30_000 });
    expect(cspViolationsOf(page)).toEqual([]);
    expect(findings, JSON.stringify(findings, null, 2)).toEqual([]);
  });
}

test('below 1200 px the sidebar collapses to a rail and keeps its names; the skip link moves focus to the content', async ({ page }) => {
  await page.setViewportSize({ width: 1024, height: 700 });
  await ensureConsoleReady(page);
  const sidebar = page.getByRole('navigation', { name: 'Main navigation' });
  expect((await sidebar.boundingBox())!.width).toBeLessThan(80);
  await expect(sidebar.getByRole('button', { name: /^Inbox/ })).toBeVisible();
  await page.setViewportSize({ width: 1440, height: 900 });
  expect((await sidebar.boundingBox())!.width).toBeGreaterThan(180);
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.locator('#main-content')).toBeFocused();
});

test('the rail tooltip shows on hover and keyboard focus and goes away on click, Escape and a screen change', async ({ page }) => {
  await page.setViewportSize({ width: 1024, height: 700 });
  await ensureConsoleReady(page);
  const sidebar = page.getByRole('navigation', { name: 'Main navigation' });
  const item = (name: string) => sidebar.getByRole('button', { name: new RegExp(`^${name}`) });
  const tip = (name: string) => item(name).locator('.nav-label');
  await nav(page, 'Inbox');
  await page.mouse.move(600, 400);
  await expect(tip('Active')).toHaveCSS('opacity', '0');
  // Hover: the label shows beside the rail.
  await item('Active').hover();
  await expect(tip('Active')).toHaveCSS('opacity', '1');
  // Click: the screen changes and the label goes, though the pointer rests on the item.
  await item('Active').click();
  await expect(page.getByRole('heading', { name: 'Active bypasses' })).toBeVisible();
  await expect(tip('Active')).toHaveCSS('opacity', '0');
  await screenshot(page, 'rail-after-click-1024');
  // A new hover shows it again.
  await page.mouse.move(600, 400);
  await item('Active').hover();
  await expect(tip('Active')).toHaveCSS('opacity', '1');
  await page.mouse.move(600, 400);
  await expect(tip('Active')).toHaveCSS('opacity', '0');
  // Keyboard: focus shows it, Escape dismisses it, Enter (a screen change) leaves it hidden, Tab on shows the next.
  await item('Reviews').focus();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  await expect(item('Reviews')).toBeFocused();
  await expect(tip('Reviews')).toHaveCSS('opacity', '1');
  await page.keyboard.press('Escape');
  await expect(tip('Reviews')).toHaveCSS('opacity', '0');
  await page.keyboard.press('Shift+Tab');
  await expect(tip('Reviews')).toHaveCSS('opacity', '0');
  await expect(tip('Active')).toHaveCSS('opacity', '1');
  await page.keyboard.press('Tab');
  await expect(tip('Reviews')).toHaveCSS('opacity', '1');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('table', { name: 'Reviews' }).or(page.getByText('No reviews waiting'))).toBeVisible();
  await expect(item('Reviews')).toBeFocused();
  await expect(tip('Reviews')).toHaveCSS('opacity', '0');
  await page.keyboard.press('Tab');
  await expect(tip('Reviews')).toHaveCSS('opacity', '0');
  await page.setViewportSize({ width: 1440, height: 900 });
});

test('a new request is announced in the live region', async ({ page }) => {
  await ensureConsoleReady(page);
  await nav(page, 'Inbox');
  await expect(page.getByRole('row', { name: new RegExp(ids.wide!) })).toBeVisible();
  const arrived = await file('alice', { gate: 'ci-tests', scope: { repo: 'announce-me', branch: 'main' }, reason: 'Suite blocked by the sandbox outage again today', severity: 'sev2', ttl: '1h', incidentRef: 'INC-5121' });
  ids.announced = arrived.id;
  await expect(page.getByRole('status', { name: 'announcements' })).toHaveText('New request: sev2 ci-tests from alice.');
});

test('keyboard only: open a request from the inbox, approve it in the dialog, confirm, go on', async ({ page }) => {
  await ensureConsoleReady(page);
  // Make sure the console knows the key is enrolled (the session read refreshes whoami).
  await ipc('console:main:get-session', {});
  await nav(page, 'Inbox');
  const row = page.getByRole('row', { name: new RegExp(ids.announced!) });
  await expect(row).toBeVisible();
  await row.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'ci-tests' })).toBeVisible();
  const approve = page.getByRole('button', { name: 'Approve…' });
  await expect(approve).toBeEnabled();
  // Tab until the Approve button has focus (no mouse).
  for (let i = 0; i < 60 && !(await approve.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)); i++) await page.keyboard.press('Tab');
  await expect(approve).toBeFocused();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Confirm approval' });
  await expect(dialog).toBeVisible();
  // Focus starts inside the dialog and Tab stays there.
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    expect(await dialog.evaluate((el) => (el as unknown as { contains(n: unknown): boolean }).contains((globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement))).toBe(true);
  }
  const sign = dialog.getByRole('button', { name: 'Sign and approve' });
  for (let i = 0; i < 10 && !(await sign.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)); i++) await page.keyboard.press('Tab');
  await expect(sign).toBeFocused();
  const popup = page.waitForEvent('popup', { timeout: 5_000 }).catch(() => null);
  await page.keyboard.press('Enter');
  const pin = await popup;
  if (pin) {
    // A hardware key (console.spec.ts set one up): the PIN is typed, then Enter.
    await pin.getByLabel('PIN').focus();
    await pin.keyboard.type(stack().softhsm.userPin);
    await pin.keyboard.press('Enter');
  }
  const done = page.getByRole('status', { name: 'decision recorded' });
  await expect(done).toContainText('You approved · 1 of 1');
  await expect(done).toBeFocused();
  await screenshot(page, 'keyboard-approval-done');
});

test.afterAll(async () => {
  if (didSetup) {
    const result = await ipc('console:main:sign-out', { forgetKey: true });
    if (!result.ok) throw new Error(`sign-out failed: ${result.error?.message}`);
  }
});
