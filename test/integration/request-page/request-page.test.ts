import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { CheckResult } from '../../../shared/domain/check';
import type { BypassRequest } from '../../../shared/domain/request';
import { requestLink } from '../../../shared/gates/request-link';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { identityStorePolicy } from '../../support/identity-store-policy';
import { startOidcProvider, type OidcProviderHarness } from '../../support/oidc-provider';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The flags of test/e2e/playwright.config.ts: Debian's Chromium, never a downloaded browser. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SHOTS = `${ROOT}test-results/request-page`;
const SIZES = [
  { width: 1440, height: 900 },
  { width: 1024, height: 700 },
] as const;

const POLICY = `version: 1
ttlChoices: [15m, 1h, 4h, 24h]
tiers:
  high: { approvals: 1, approverGroups: [security-leads], allowSameTeam: false, maxTtl: 1h }
gates:
  # slow: bob approves with a software key below; a safety gate needs two attested approvers
  - { id: container-signing, kind: slow, tier: high, scopeKeys: [repo, image] }
teams:
  payments: { members: [alice], bypassBudget: 4 }
  security: { members: [bob] }
approvers:
  security-leads: [bob]
`;

async function shoot(page: Page, name: string): Promise<void> {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `${SHOTS}/${name}-${size.width}x${size.height}.png`, fullPage: true });
  }
  await page.setViewportSize(SIZES[0]);
}

describe('the request page: from a block link to an active bypass, in Chromium', () => {
  let fx: StoreFixture;
  let browser: Browser;
  let alice: string;
  let gate: string;

  before(async () => {
    // The page as the store serves it: built from request-page/ by Vite (npm run build:request-page).
    const built = spawnSync(process.execPath, [`${ROOT}node_modules/vite/bin/vite.js`, 'build', '-c', 'request-page/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    await mkdir(SHOTS, { recursive: true });
    fx = await startStoreFixture({ policyYaml: POLICY });
    alice = await fx.token('alice', ['requester']);
    gate = await fx.token('ci', ['gate']);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    await fx?.close();
  });

  test('block link → sign in → the form shows the block, the rules and only the tier’s TTLs → filed → approved live → expired live', async () => {
    const subject = { repo: 'acme/payments-api', image: 'ghcr.io/acme/payments-api@sha256:4f1c2e0b9a7d' };
    const check = await fx.call('POST', '/v1/checks', { token: gate, body: { gate: 'container-signing', subject } });
    assert.equal((check.json as CheckResult).verdict, 'block');
    const link = requestLink(fx.url, { gate: 'container-signing', scope: subject, rule: 'cosign verify --key release.pub', context: { run: 'https://github.com/acme/payments-api/actions/runs/42', commit: '9f2c1ab', token: 'never-in-a-link' } });

    const page = await browser.newPage({ viewport: SIZES[0] });
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    // Failed responses are watched directly below (Chromium's "Failed to load resource" console line arrives late).
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && failures.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && failures.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`));
    await page.goto(link);

    // Sign in: a token pasted into this tab; a wrong one is refused by the store, visibly.
    await page.getByLabel('Token or session').fill('bgt_not_a_real_token_at_all_0000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('unauthenticated').waitFor();
    await page.getByLabel('Token or session').fill(alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Request a bypass of container-signing' }).waitFor();
    assert.match(await page.locator('.rp-top').innerText(), /signed in as alice \(team payments\)/);
    // The refused token's 401s were a failure the page showed: watch from here.
    failures.length = 0;

    // What was blocked, as the link said it (and no credential from it).
    const blocked = page.getByRole('region', { name: 'what was blocked' });
    const blockedText = (await blocked.innerText()).replace(/=\n/g, '='); // a chip shows key= and value in two spans
    for (const part of ['container-signing', 'cosign verify --key release.pub', 'repo=acme/payments-api', 'image=ghcr.io/acme/payments-api@sha256:4f1c2e0b9a7d', 'https://github.com/acme/payments-api/actions/runs/42', '9f2c1ab']) assert.ok(blockedText.includes(part), `${part} in ${blockedText}`);
    assert.doesNotMatch(blockedText, /never-in-a-link/);
    // The rules, before submitting.
    const rules = await page.getByRole('region', { name: 'rules' }).innerText();
    assert.match(rules, /One approval from security-leads/);
    assert.match(rules, /Approvers must not be on your team \(payments\)/);
    assert.match(rules, /At most 1h/);
    assert.match(rules, /at least 20 characters/);
    assert.doesNotMatch(rules, /safety gate/, 'a slow gate is not announced as a safety gate');
    // TTLs: the policy lists 15m … 24h, the tier allows at most 1h.
    assert.deepEqual(await page.getByRole('radio').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value)), ['15m', '1h']);

    // Checked before anything is sent: a short reason and a sev1 without an incident.
    await page.getByRole('tab', { name: 'sev1' }).click();
    await page.getByLabel('Reason').fill('signer down');
    await page.getByRole('button', { name: /Request 1h bypass/ }).click();
    await page.getByText('the reason must be at least 20 characters').waitFor();
    await page.getByText('an incident reference is required for sev1').waitFor();
    assert.equal((await fx.call('GET', '/v1/requests', { token: alice })).json.requests.length, 0, 'nothing was filed');

    await page.getByLabel(/Incident/).fill('INC-1190');
    await page.getByLabel('Reason').fill('The release signer is down (INC-1190); the 1.42.1 hotfix must ship before the fix lands.');
    await page.getByRole('radio', { name: /15m/ }).check();
    await page.getByRole('radio', { name: /1h/ }).check();
    await shoot(page, 'request-form');
    await page.getByRole('button', { name: /Request 1h bypass/ }).click();

    // Filed: the status page, live.
    await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();
    const id = new URL(page.url()).searchParams.get('id');
    assert.match(id ?? '', /^req_/);
    await page.getByText('live', { exact: true }).waitFor();
    assert.match(await page.getByRole('region', { name: 'details' }).innerText(), /Who can approve\s+bob/);
    await shoot(page, 'request-pending');

    // bob approves elsewhere (a signed decision): the page turns active by itself.
    const request = (await fx.call('GET', `/v1/requests/${id}`, { token: alice })).json.request as BypassRequest;
    const bob = await fx.approver('bob');
    const approved = await fx.call('POST', `/v1/requests/${id}/decisions`, { token: bob.token, body: { bundle: await fx.sign(request, 'bob', bob.signer, 'approve') } });
    assert.equal(approved.status, 200, approved.text);
    await page.getByRole('heading', { name: 'Bypass active' }).waitFor();
    const window = await page.getByRole('region', { name: 'bypass window' }).innerText();
    assert.match(window, /Ends in\s+(\d+h )?\d+m \d+s\s+at 20/);
    assert.match(await page.getByRole('region', { name: 'details' }).innerText(), /Approvals\s+1\/1 \(bob\)/);
    // The gate now passes, and the page counts the recorded use.
    const warn = await fx.call('POST', '/v1/checks', { token: gate, body: { gate: 'container-signing', subject } });
    assert.equal((warn.json as CheckResult).verdict, 'warn');
    await page.getByText('every use is recorded (1 so far)').waitFor();
    await shoot(page, 'request-active');

    // Expiry on the server clock, no human: the page follows.
    fx.clock.advance(61 * 60_000);
    await page.getByRole('heading', { name: 'Bypass expired' }).waitFor();
    await shoot(page, 'request-expired');
    assert.deepEqual(failures, [], 'no script errors and no CSP violations');
    await page.close();
  });

  test('a damaged link says so; the page and its assets need no token, the API still does', async () => {
    const page = await browser.newPage({ viewport: SIZES[1] });
    await page.goto(`${fx.url}/request?gate=container-signing&scope=not-a-scope`);
    const alert = await page.getByRole('alert').innerText();
    assert.match(alert, /this request link is incomplete or damaged/);
    await page.close();
    const html = await fetch(`${fx.url}/request?gate=x`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const asset = /src="(\/request\/assets\/[^"]+\.js)"/.exec(await html.text())?.[1];
    assert.ok(asset);
    assert.equal((await fetch(fx.url + asset)).status, 200);
    assert.equal((await fetch(`${fx.url}/request/assets/..%2F..%2Fpackage.json`)).status, 404);
    assert.equal((await fetch(`${fx.url}/v1/policy`)).status, 401);
  });

  describe('single sign-on with the organisation\'s IdP (the real test OpenID provider)', () => {
    let idp: OidcProviderHarness;
    let sso: StoreFixture;
    before(async () => {
      idp = await startOidcProvider({ users: [{ login: 'alice', groups: ['eng-payments'] }] });
      sso = await startStoreFixture({ policyYaml: identityStorePolicy(idp) });
    });
    after(async () => {
      await sso?.close();
      await idp?.stop();
    });

    test('"Sign in with your organisation" → the IdP\'s pages → back signed in with the IdP\'s team; the session never stays in the address bar', async () => {
      const link = requestLink(sso.url, { gate: 'deploy-freeze', scope: { repo: 'acme/payments-api', branch: 'main' }, rule: 'change freeze' });
      const page = await browser.newPage({ viewport: SIZES[0] });
      await page.goto(link);
      await page.getByRole('link', { name: 'Sign in with your organisation' }).click();
      // The test IdP's own login and consent pages.
      await page.locator('input[name=login]').fill('alice');
      await page.locator('input[name=password]').fill('pw-alice');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.getByRole('heading', { name: 'Request a bypass of deploy-freeze' }).waitFor();
      assert.equal(page.url(), link, 'back on the same link, with no #session left in the address bar or history');
      assert.match(await page.locator('.rp-top').innerText(), /signed in as alice \(team payments\)/);
      assert.match(await page.getByRole('region', { name: 'rules' }).innerText(), /Approvers must not be on your team \(payments\)/);
      assert.deepEqual(await page.getByRole('radio').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value)), ['15m', '1h', '4h']);
      await shoot(page, 'request-form-sso');
      await page.close();

      // A callback that is not one of ours (unknown state) sends the browser back with the reason.
      const stray = await browser.newPage({ viewport: SIZES[1] });
      await stray.goto(`${sso.url}/request/callback?code=abc&state=forged`);
      await stray.getByText('this sign-in is unknown or too old').waitFor();
      assert.equal(new URL(stray.url()).hash, '');
      await stray.close();
    });
  });
});
