import { randomBytes } from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';
import type { BypassRequest } from '../../shared/domain/request';
import { fileKeySigner, generateSoftwareKeyPair } from '../../shared/node/signing/software-signer';
import { signDecision } from '../../shared/node/signing/sign-decision';
import { newDecisionStatement } from '../../shared/signing/decision-statement';
import { control, ipc, openConsole, screenshot, stack, storeCall } from './support/helpers';

/**
 * The Gate health screen against the real stack: alice's team breaks the ci-tests gate seven
 * times (one gate dominating, payments over its budget of 6); the screen leads with the finding
 * that says "fix the gate", charts bypasses per gate per week, and shows budgets, decision times
 * and the review backlog. Seeded over the store's HTTP API (carol approves with an enrolled
 * software key); works after console.spec.ts or on its own (it sets the console up if needed).
 */
test.describe.configure({ mode: 'serial' });

const BYPASSES = 7;

/** Whether this spec set the console up itself (run alone), so it can leave it as it found it. */
let didSetup = false;

async function ensureConsoleReady(page: Page): Promise<void> {
  const s = stack();
  await openConsole(page);
  const setupHeading = page.getByRole('heading', { name: 'Set up the Breakglass console' });
  const nav = page.getByRole('navigation', { name: 'Main navigation' });
  await expect(setupHeading.or(nav)).toBeVisible();
  if (await setupHeading.isVisible()) {
    await page.getByLabel('Grant store URL').fill(s.storeUrl);
    await page.getByLabel('API token').fill(s.tokens.bob!);
    await page.getByLabel('software key', { exact: true }).check();
    await page.getByRole('button', { name: 'Connect and create key' }).click();
    await page.getByRole('button', { name: 'Open the console' }).click();
    didSetup = true;
  }
  await expect(nav).toBeVisible();
}

test.beforeAll(async () => {
  const s = stack();
  await control('POST', '/store/start');
  const pair = generateSoftwareKeyPair();
  await storeCall('POST', '/v1/admin/approvers/carol/keys', s.adminToken, { publicKeyPem: pair.publicKeyPem, label: 'gate-health e2e' });
  const signer = fileKeySigner(pair.privateKeyPem);
  const reasons = ['Integration suite hangs on the shared runner again', 'Flaky DB fixture blocks the checkout hotfix', 'Suite times out after the runner image update'];
  for (let i = 0; i < BYPASSES; i += 1) {
    const created = await storeCall<{ request: BypassRequest }>('POST', '/v1/requests', s.tokens.alice!, {
      gate: 'ci-tests',
      scope: { repo: 'payments-api', branch: `hotfix-${i}` },
      reason: reasons[i % reasons.length],
      severity: 'sev3',
      ttl: '15m',
    });
    const statement = newDecisionStatement({
      request: { id: created.request.id, digest: created.request.digest },
      decision: 'approve',
      approver: 'carol',
      comment: 'runner outage confirmed',
      ttl: '15m',
      nonceHex: randomBytes(16).toString('hex'),
      now: new Date(),
    });
    const bundle = await signDecision(statement, signer);
    await storeCall('POST', `/v1/requests/${created.request.id}/decisions`, s.tokens.carol!, { bundle });
  }
});

test('gate health: the dominating gate says fix the gate, with charts, budgets, decision times and reviews', async ({ page }) => {
  await ensureConsoleReady(page);
  const nav = page.getByRole('navigation', { name: 'Main navigation' });
  await nav.getByRole('button', { name: /^Gate health/ }).click();
  await expect(page.getByRole('heading', { name: 'Gate health' })).toBeVisible();

  const finding = page.getByRole('note', { name: 'finding gate_dominates ci-tests' });
  await expect(finding).toBeVisible();
  await expect(finding).toContainText('Fix the gate: ci-tests');
  await expect(finding).toContainText('fix the gate, do not normalize the bypass');

  // the chart: recharts draws an SVG with one stacked series per gate
  const chart = page.getByRole('img', { name: /bypasses per gate per week/ });
  await expect(chart.locator('svg.recharts-surface').first()).toBeVisible();
  await expect(chart.locator('.recharts-bar-rectangle').first()).toBeVisible();

  await expect(page.getByRole('row', { name: 'gate ci-tests' })).toBeVisible();
  const payments = page.getByRole('row', { name: 'team payments' });
  await expect(payments).toContainText('over budget: review');
  await expect(page.getByLabel('decision times incident')).toContainText('target 15m');
  await expect(page.getByLabel('decision times other')).toContainText('target 1d 00h');
  await expect(page.getByRole('region', { name: 'review backlog' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'approver groups' })).toContainText('oncall-leads');

  // the sidebar counts the findings
  await expect(nav.getByRole('button', { name: /^Gate health/ })).toContainText(/\d/);
  await screenshot(page, 'gate-health');
  // below the fold (the content pane scrolls by itself): budgets, decision times, reviews, approver groups
  await page.getByRole('region', { name: 'approver groups' }).scrollIntoViewIfNeeded();
  await screenshot(page, 'gate-health-budgets');
});

test.afterAll(async () => {
  // Run alone, this spec set the console up: sign out (forgetting the key) so a spec that expects
  // the first-run screen still finds it.
  if (didSetup) {
    const result = await ipc('console:main:sign-out', { forgetKey: true });
    if (!result.ok) throw new Error(`sign-out failed: ${result.error?.message}`);
  }
});
