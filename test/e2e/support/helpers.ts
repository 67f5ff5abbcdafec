import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import type { DecisionKind } from '../../../shared/domain/decision';
import type { BypassRequest } from '../../../shared/domain/request';
import { fileKeySigner } from '../../../shared/node/signing/software-signer';
import { signDecision } from '../../../shared/node/signing/sign-decision';
import { newDecisionStatement } from '../../../shared/signing/decision-statement';
import type { StackInfo } from './stack-info';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const SCREENSHOT_DIR = `${REPO}test-results/screenshots`;
const CLI_TIMEOUT_MS = 60_000;

export function stack(): StackInfo {
  const raw = process.env.BG_E2E_STACK;
  if (!raw) throw new Error('BG_E2E_STACK is not set: run through playwright (global-setup.ts starts the stack)');
  return JSON.parse(raw) as StackInfo;
}

/** Call the stack's grant store as `token`; a non-2xx answer throws with its body. */
export async function storeCall<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
  const response = await fetch(`${stack().storeUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/**
 * `approver` signs a decision on `request` with `privateKeyPem` (a software key enrolled for them)
 * and submits it through the store's API with their stack token: an approver acting beside the
 * console under test.
 */
export async function decideAs(approver: string, privateKeyPem: string, request: Pick<BypassRequest, 'id' | 'digest' | 'ttl'>, decision: DecisionKind, comment: string): Promise<void> {
  const statement = newDecisionStatement({
    request: { id: request.id, digest: request.digest },
    decision,
    approver,
    comment,
    ...(decision === 'approve' ? { ttl: request.ttl } : {}),
    nonceHex: randomBytes(16).toString('hex'),
    now: new Date(),
  });
  const bundle = await signDecision(statement, fileKeySigner(privateKeyPem));
  await storeCall('POST', `/v1/requests/${request.id}/decisions`, stack().tokens[approver]!, { bundle });
}

/** Open a console screen from the main navigation (its label may carry a count). */
export async function nav(page: Page, label: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('button', { name: new RegExp(`^${label}`) }).click();
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real `breakglass` CLI as `principal` (their token in BREAKGLASS_TOKEN). */
export function cli(principal: string | null, args: string[]): Promise<CliResult> {
  const s = stack();
  const env: NodeJS.ProcessEnv = { ...process.env, ...s.cliEnv };
  if (principal) env.BREAKGLASS_TOKEN = principal === 'admin' ? s.adminToken : s.tokens[principal];
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/breakglass.cjs', ...args], { cwd: REPO, env, timeout: CLI_TIMEOUT_MS }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `--json` CLI call that must succeed; returns the parsed stdout. */
export async function cliJson<T>(principal: string | null, args: string[]): Promise<T> {
  const result = await cli(principal, [...args, '--json']);
  if (result.code !== 0) throw new Error(`breakglass ${args.join(' ')} exited ${result.code}: ${result.stderr || result.stdout}`);
  return JSON.parse(result.stdout) as T;
}

export async function control<T>(method: 'GET' | 'POST', path: string): Promise<T> {
  const response = await fetch(`${stack().controlUrl}${path}`, { method });
  if (!response.ok) throw new Error(`control ${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Call a console channel the way the renderer does, straight at the browser host. */
export async function ipc(channel: string, input: unknown): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }> {
  const s = stack();
  const response = await fetch(`${s.consoleUrl}/ipc/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-breakglass-token': s.consoleToken },
    body: JSON.stringify(input),
  });
  return (await response.json()) as { ok: boolean; value?: unknown; error?: { code: string; message: string } };
}

const cspViolations = new WeakMap<Page, string[]>();

/** Open the console with the one-time token link; CSP violations on the page are collected. */
export async function openConsole(page: Page): Promise<void> {
  if (!cspViolations.has(page)) {
    const seen: string[] = [];
    cspViolations.set(page, seen);
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) seen.push(message.text());
    });
  }
  await page.goto(stack().openUrl);
}

/** Messages the browser logged for Content-Security-Policy violations on this page. */
export function cspViolationsOf(page: Page): string[] {
  return cspViolations.get(page) ?? [];
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Let countdowns and fonts settle so the picture shows a steady state.
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png` });
}

/**
 * Open the console; when it is not set up yet (a spec run on its own), set it up as bob with a
 * software key and enroll that key through the admin API. Returns whether it did the setup (the
 * spec then signs out afterwards, leaving the console as it found it).
 */
export async function ensureConsoleReady(page: Page, beforeSetup?: () => Promise<void>): Promise<boolean> {
  const s = stack();
  await openConsole(page);
  const setupHeading = page.getByRole('heading', { name: 'Set up the Breakglass console' });
  const nav = page.getByRole('navigation', { name: 'Main navigation' });
  await expect(setupHeading.or(nav)).toBeVisible();
  if (!(await setupHeading.isVisible())) return false;
  await beforeSetup?.();
  await page.getByLabel('Grant store URL').fill(s.storeUrl);
  await page.getByLabel('API token').fill(s.tokens.bob!);
  await page.getByLabel('software key', { exact: true }).check();
  await page.getByRole('button', { name: 'Connect and create key' }).click();
  const pem = (await page.getByLabel('public key PEM').textContent()) ?? '';
  const enrolled = await fetch(`${s.storeUrl}/v1/admin/approvers/bob/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ publicKeyPem: pem.trim(), label: 'e2e software key' }),
  });
  if (enrolled.status !== 201) throw new Error(`enrolling bob's key: HTTP ${enrolled.status} ${await enrolled.text()}`);
  // The enrollment step notices the enrollment by itself (the store's event), then the user moves on.
  await expect(page.getByRole('status', { name: 'enrollment' })).toContainText('enrolled: the store accepts this key');
  await page.getByRole('button', { name: 'Open the console' }).click();
  await expect(nav).toBeVisible();
  return true;
}

/** A notification the page showed through the Web Notifications API (recorded by recordWebNotifications). */
export interface ShownNotification {
  title: string;
  body?: string;
  tag?: string;
}

/**
 * Record every `new Notification(…)` the page makes (headless Chromium has no notification centre to
 * look at); permission and requestPermission stay the browser's own. Call before the page loads,
 * with the notifications permission granted on the context. Read with shownNotifications(page).
 */
export async function recordWebNotifications(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const g = globalThis as unknown as { Notification: unknown; shownNotifications: { title: string; body?: string; tag?: string }[] };
    g.shownNotifications = [];
    const Native = g.Notification as { permission: string; requestPermission(): Promise<string> };
    class Recording {
      static get permission() {
        return Native.permission;
      }
      static requestPermission() {
        return Native.requestPermission();
      }
      onclick: (() => void) | null = null;
      constructor(title: string, options?: { body?: string; tag?: string }) {
        g.shownNotifications.push({ title, body: options?.body, tag: options?.tag });
      }
    }
    g.Notification = Recording;
  });
}

export function shownNotifications(page: Page): Promise<ShownNotification[]> {
  return page.evaluate(() => (globalThis as unknown as { shownNotifications: ShownNotification[] }).shownNotifications);
}
