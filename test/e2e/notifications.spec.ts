import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, test, type Page } from '@playwright/test';
import type { BypassRequest } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';
import { generateSoftwareKeyPair } from '../../shared/node/signing/software-signer';
import { control, cspViolationsOf, decideAs, ensureConsoleReady, ipc, nav, recordWebNotifications, screenshot, type ShownNotification, shownNotifications, stack, storeCall } from './support/helpers';

/**
 * Notifications that follow the work, as the browser host shows them (the renderer's Web
 * Notifications path, recorded by an init script): the decision SLA running out and overdue, the
 * requester's reply to my question, a bypass I approved ending within 10 minutes, a review the
 * store assigned to me, the store becoming unreachable, and the store halting its ledger; each
 * exactly once. The console's clock is jumped forward through the stack's control API instead of
 * waiting. Then the log-halted state (a real tamper alarm: a row changed behind the store's back
 * while it was stopped), and the Reviews marks and Settings' "Add hardware key" form, each with
 * screenshots at 1440×900 and 1024×700. Token rejected is notified in session-state.spec.ts.
 * Works on its own too; leaves the store running and untampered and the clock at real time.
 */
test.describe.configure({ mode: 'serial' });

const MINUTE = 60_000;
/** Longer than the console's follow-up tick (30 s), so every jump runs at least one pass. */
const PAST_ONE_TICK_MS = 31_000;
const VIEWPORTS = [
  { width: 1440, height: 900 },
  { width: 1024, height: 700 },
] as const;

const carol = generateSoftwareKeyPair();
/** A second enrolled key of bob's, so the test can sign bob's decisions without the console's token PIN. */
const bobElsewhere = generateSoftwareKeyPair();
const keys = { bob: bobElsewhere, carol } as const;

async function file(principal: 'alice' | 'dave', body: Record<string, unknown>): Promise<BypassRequest> {
  return (await storeCall<{ request: BypassRequest }>('POST', '/v1/requests', stack().tokens[principal]!, { gate: 'ci-tests', ttl: '1h', severity: 'sev3', ...body })).request;
}

async function decide(approver: 'bob' | 'carol', request: BypassRequest, decision: 'approve' | 'revoke' | 'request_info', comment: string): Promise<void> {
  // Signed over the request as it is now (a reply since changes its digest).
  const current = (await storeCall<{ request: BypassRequest }>('GET', `/v1/requests/${request.id}`, stack().tokens[approver]!)).request;
  await decideAs(approver, keys[approver].privateKeyPem, current, decision, comment);
}

/** The open review of `requestId`, as the store lists it. */
async function openReviewOf(requestId: string): Promise<Review> {
  const { reviews } = await storeCall<{ reviews: Review[] }>('GET', '/v1/reviews?state=review_open', stack().adminToken);
  const review = reviews.find((r) => r.requestId === requestId);
  if (!review) throw new Error(`no open review for ${requestId}`);
  return review;
}

/** The notifications the page showed with this tag (`<kind>:<request id>`, or `session:session`). */
async function shownWith(page: Page, tag: string, title?: RegExp): Promise<ShownNotification[]> {
  return (await shownNotifications(page)).filter((n) => n.tag === tag && (!title || title.test(n.title)));
}

let didSetup = false;

async function ready(page: Page): Promise<void> {
  if (await ensureConsoleReady(page)) didSetup = true;
}

/** Open the console recording its Web notifications (permission granted, as after "Allow notifications"). */
async function openRecording(page: Page): Promise<void> {
  await page.context().grantPermissions(['notifications']);
  await recordWebNotifications(page);
  await ready(page);
  await expect(page.getByRole('status', { name: 'session connected' })).toBeVisible({ timeout: 30_000 });
}

test.beforeAll(async () => {
  const s = stack();
  await control('POST', '/store/start');
  await control('POST', '/clock/reset');
  await storeCall('POST', '/v1/admin/approvers/carol/keys', s.adminToken, { publicKeyPem: carol.publicKeyPem, label: 'notifications e2e' });
  await storeCall('POST', '/v1/admin/approvers/bob/keys', s.adminToken, { publicKeyPem: bobElsewhere.publicKeyPem, label: 'notifications e2e (second key)' });
});

test.afterAll(async () => {
  await control('POST', '/clock/reset');
  await control('POST', '/store/start');
  if (didSetup) {
    const result = await ipc('console:main:sign-out', { forgetKey: true });
    if (!result.ok) throw new Error(`sign-out failed: ${result.error?.message}`);
  }
});

test('each follow-up kind fires once: SLA running out, SLA overdue, a reply, a bypass I approved ending, a review for me, the store unreachable', async ({ page }) => {
  test.setTimeout(150_000);
  await openRecording(page);

  // An incident-flagged sev1 (15-minute decision SLA), a question bob asked and alice answered, a
  // 15-minute bypass bob approved, and a bypass carol approved and revoked (its review is bob's).
  const sla = await file('alice', { scope: { repo: 'sla-watch', branch: 'main' }, reason: 'Checkout outage: the hotfix is blocked by the flaky suite', severity: 'sev1', incidentRef: 'INC-7101' });
  const asked = await file('alice', { scope: { repo: 'reply-watch', branch: 'main' }, reason: 'The integration suite times out on the sandbox' });
  await decide('bob', asked, 'request_info', 'Which fixture is down, and since when?');
  await storeCall('POST', `/v1/requests/${asked.id}/reply`, stack().tokens.alice!, { message: 'The payments sandbox fixture, down since 07:00 UTC.' });
  const ending = await file('dave', { scope: { repo: 'expiry-watch', branch: 'main' }, reason: 'Sandbox fixture is down for a quarter of an hour', ttl: '15m' });
  await decide('bob', ending, 'approve', 'short outage, confirmed');
  const reviewed = await file('dave', { scope: { repo: 'review-watch', branch: 'main' }, reason: 'Ledger export hotfix needs the suite skipped' });
  await decide('carol', reviewed, 'approve', 'small hotfix');
  await decide('carol', reviewed, 'revoke', 'fixed forward instead');
  expect((await openReviewOf(reviewed.id)).assignedTo).toContain('bob');

  // The reply comes with the store's event (no time has to pass).
  await expect.poll(async () => (await shownWith(page, `reply:${asked.id}`)).length, { timeout: 20_000 }).toBe(1);
  expect((await shownWith(page, `reply:${asked.id}`))[0]!.title).toBe('alice answered your question: ci-tests');

  try {
    // 11 minutes on: 4 of the sla request's 15 minutes are left (the last third), the bypass ends in 4.
    await control('POST', `/clock/jump?ms=${11 * MINUTE}`);
    await expect.poll(async () => (await shownWith(page, `sla_soon:${sla.id}`)).length, { timeout: 20_000 }).toBe(1);
    await expect.poll(async () => (await shownWith(page, `expiring:${ending.id}`)).length, { timeout: 20_000 }).toBe(1);
    await expect.poll(async () => (await shownWith(page, `review:${reviewed.id}`)).length, { timeout: 20_000 }).toBe(1);
    expect((await shownWith(page, `sla_soon:${sla.id}`))[0]!.title).toMatch(/^‼ SEV1 decision due in [1-5] min: ci-tests$/);
    expect((await shownWith(page, `expiring:${ending.id}`))[0]!.title).toMatch(/^Bypass you approved ends in [1-5] min: ci-tests$/);
    expect((await shownWith(page, `review:${reviewed.id}`))[0]!.title).toBe('Review assigned to you: ci-tests');

    // 5 more: the SLA is spent.
    await control('POST', `/clock/jump?ms=${5 * MINUTE}`);
    await expect.poll(async () => (await shownWith(page, `sla_overdue:${sla.id}`)).length, { timeout: 20_000 }).toBe(1);
    expect((await shownWith(page, `sla_overdue:${sla.id}`))[0]!.title).toBe('‼ SEV1 decision overdue: ci-tests');

    // Two more passes of the follow-up tick: nothing fires a second time.
    for (let pass = 0; pass < 2; pass++) {
      await control('POST', `/clock/jump?ms=${PAST_ONE_TICK_MS}`);
      await page.waitForTimeout(1_500);
    }
  } finally {
    await control('POST', '/clock/reset');
  }

  // The store goes away: one "unreachable", however many reconnects fail.
  await control('POST', '/store/stop');
  try {
    await expect(page.getByRole('status', { name: 'offline banner' })).toBeVisible({ timeout: 30_000 });
    await expect.poll(async () => (await shownWith(page, 'session:session', /store unreachable/)).length, { timeout: 20_000 }).toBe(1);
    await page.waitForTimeout(2_000);
  } finally {
    await control('POST', '/store/start');
  }
  await expect(page.getByRole('status', { name: 'session connected' })).toBeVisible({ timeout: 30_000 });

  const shown = await shownNotifications(page);
  const count = (tag: string, title?: RegExp) => shown.filter((n) => n.tag === tag && (!title || title.test(n.title))).length;
  expect({
    sla_soon: count(`sla_soon:${sla.id}`),
    sla_overdue: count(`sla_overdue:${sla.id}`),
    reply: count(`reply:${asked.id}`),
    expiring: count(`expiring:${ending.id}`),
    review: count(`review:${reviewed.id}`),
    unreachable: count('session:session', /store unreachable/),
  }).toEqual({ sla_soon: 1, sla_overdue: 1, reply: 1, expiring: 1, review: 1, unreachable: 1 });
  // Nothing at all was shown twice (other specs' requests get their follow-ups too, once each).
  const seen = shown.filter((n) => n.tag !== 'session:session').map((n) => `${n.tag} ${n.title}`);
  expect(seen.filter((key, i) => seen.indexOf(key) !== i), 'notified twice').toEqual([]);
  expect(cspViolationsOf(page)).toEqual([]);
});

test('log halted: a row changed behind the stopped store halts its ledger; banner, sidebar and one notification, decisions disabled; restored, connected again', async ({ page }) => {
  test.setTimeout(150_000);
  await openRecording(page);
  const victim = await file('dave', { scope: { repo: 'halt-watch', branch: 'main' }, reason: 'Sandbox fixture outage, suite cannot pass', ttl: '4h' });
  await decide('carol', victim, 'approve', 'outage confirmed');
  const dbPath = join(stack().storeDataDir, 'breakglass.db');

  await control('POST', '/store/stop');
  let original: string | null = null;
  try {
    // A tamper: the bypass window stretched in requests.expires_at, as someone with the database
    // file could. The store's ledger guard sees it against the ledger at start-up and halts.
    const db = new Database(dbPath);
    try {
      original = (db.prepare('SELECT expires_at FROM requests WHERE id = ?').get(victim.id) as { expires_at: string }).expires_at;
      db.prepare("UPDATE requests SET expires_at = '2099-01-01T00:00:00.000Z' WHERE id = ?").run(victim.id);
    } finally {
      db.close();
    }
    await control('POST', '/store/start');

    const banner = page.getByRole('alert', { name: 'log halted banner' });
    await expect(banner).toBeVisible({ timeout: 30_000 });
    await expect(banner).toContainText('The store halted its ledger');
    await expect(banner).toContainText(`table requests, row ${victim.id}, field column expires_at`);
    await expect(banner).toContainText('Decisions are refused until an operator has checked the log');
    await expect(page.getByRole('status', { name: 'session log halted' })).toBeVisible();
    await expect.poll(async () => (await shownWith(page, 'session:session', /halted its ledger/)).length, { timeout: 20_000 }).toBe(1);
    expect((await shownWith(page, 'session:session', /halted its ledger/))[0]!.body).toContain(`row ${victim.id}`);
    await expect.poll(() => page.title()).toMatch(/^\(!/);

    // The request the alarm names: no decision can be made, and the page says why.
    await nav(page, 'Active');
    await page.getByRole('row', { name: `active bypass ${victim.id}` }).getByRole('button', { name: 'ci-tests' }).click();
    await expect(page.getByRole('note', { name: 'actions disabled' })).toContainText('halted its ledger');
    await expect(page.getByRole('button', { name: 'Revoke…' })).toBeDisabled();
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      await screenshot(page, `log-halted-request-${viewport.width}`);
    }
    await nav(page, 'Inbox');
    await expect(banner).toBeVisible();
    for (const viewport of [...VIEWPORTS].reverse()) {
      await page.setViewportSize(viewport);
      await screenshot(page, `log-halted-inbox-${viewport.width}`);
    }
    await nav(page, 'Active');
    await page.getByRole('row', { name: `active bypass ${victim.id}` }).getByRole('button', { name: 'ci-tests' }).click();
  } finally {
    // Undo the tamper: a restart checks the ledger from scratch and finds it whole again.
    await control('POST', '/store/stop');
    if (original !== null) {
      const db = new Database(dbPath);
      try {
        db.prepare('UPDATE requests SET expires_at = ? WHERE id = ?').run(original, victim.id);
      } finally {
        db.close();
      }
    }
    await control('POST', '/store/start');
  }
  await expect(page.getByRole('alert', { name: 'log halted banner' })).toBeHidden({ timeout: 30_000 });
  await expect(page.getByRole('status', { name: 'session connected' })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole('button', { name: 'Revoke…' })).toBeEnabled();
  expect((await shownWith(page, 'session:session', /halted its ledger/)).length, 'log halted is notified once').toBe(1);
  expect(cspViolationsOf(page)).toEqual([]);
});

test('Reviews marks (assigned to you, reviewing your own approval, no default finding, self-review) and Settings "Add hardware key", at 1440×900 and 1024×700', async ({ page }) => {
  test.setTimeout(120_000);
  await ready(page);
  // bob approved this one himself; carol revoked it: reviewing it is a self-review.
  const own = await file('dave', { scope: { repo: 'own-review', branch: 'main' }, reason: 'Release train blocked by a known flaky test' });
  await decide('bob', own, 'approve', 'known flaky test');
  await decide('carol', own, 'revoke', 'flaky test fixed');
  const ownReview = await openReviewOf(own.id);

  await nav(page, 'Reviews');
  const item = page.getByRole('button', { name: `ci-tests, review ${ownReview.id}` });
  await item.click();
  const detail = page.getByRole('region', { name: `review ${ownReview.id} detail` });
  await expect(detail.getByRole('note', { name: 'reviewing your own decision' })).toContainText('You signed a decision on this bypass yourself');
  const findings = detail.getByRole('radiogroup');
  await expect(findings.getByRole('radio')).toHaveCount(3);
  for (const radio of await findings.getByRole('radio').all()) await expect(radio).not.toBeChecked();
  await expect(detail.getByText('Choose a finding first.')).toBeVisible();
  await expect(detail.getByRole('button', { name: 'Complete review' })).toBeDisabled();
  await expect(page.getByRole('table', { name: 'Reviews' }).getByText('assigned to you').first()).toBeVisible();
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    await item.scrollIntoViewIfNeeded();
    await detail.getByRole('button', { name: 'Complete review' }).scrollIntoViewIfNeeded();
    await screenshot(page, `reviews-own-approval-${viewport.width}`);
  }
  await page.setViewportSize(VIEWPORTS[0]);

  // Signing off anyway is recorded as a self-review, and the Completed list marks it.
  await findings.getByRole('radio', { name: 'Not justified' }).check();
  await detail.getByLabel('Note').fill('The flaky test should have been quarantined, not bypassed.');
  await detail.getByRole('button', { name: 'Complete review' }).click();
  await page.getByRole('tab', { name: 'Completed' }).click();
  await page.getByRole('button', { name: `ci-tests, review ${ownReview.id}` }).click();
  await expect(page.getByRole('table', { name: 'Reviews' }).getByRole('row', { name: new RegExp(ownReview.id) })).toContainText('self-review');
  await expect(page.getByRole('note', { name: 'self-review recorded' })).toBeVisible();
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    await page.getByRole('note', { name: 'self-review recorded' }).scrollIntoViewIfNeeded();
    await screenshot(page, `reviews-self-review-recorded-${viewport.width}`);
  }
  await page.setViewportSize(VIEWPORTS[0]);

  // Settings → Add hardware key: the form, filled with the current token's module, without signing out.
  await nav(page, 'Settings');
  const panel = page.getByRole('region', { name: 'add hardware key' });
  await panel.getByRole('button', { name: /^(Add hardware key|Change key)…$/ }).click();
  const form = panel.getByRole('form', { name: 'hardware key' });
  await expect(form.getByLabel('PKCS#11 module')).not.toHaveValue('');
  await expect(form.getByLabel('Key label')).toHaveValue('breakglass-approver');
  await expect(form.getByRole('radio', { name: 'Generate a new key on the token' })).toBeChecked();
  await expect(form.getByText(/You stay signed in as bob/)).toBeVisible();
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    await form.scrollIntoViewIfNeeded();
    await screenshot(page, `settings-add-hardware-key-${viewport.width}`);
  }
  await page.setViewportSize(VIEWPORTS[0]);
  await form.getByRole('button', { name: 'Cancel' }).click();
  await expect(form).toBeHidden();
  expect(cspViolationsOf(page)).toEqual([]);
});
