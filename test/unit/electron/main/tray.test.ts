import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MenuItemConstructorOptions } from 'electron';
import type { InboxItem } from '../../../../shared/ipc/contract';
import { ConsoleTray, TRAY_MENU_REQUESTS, trayIconPath } from '../../../../electron/main/tray';
import { FakeTray } from './fake-electron';

const ICON_DIR = fileURLToPath(new URL('../../../../build/icons/tray', import.meta.url));

function item(n: number): InboxItem {
  return {
    request: { id: `req_${String(n).padStart(16, '0')}`, severity: n === 3 ? 'sev1' : 'sev2', gate: 'deploy-prod', requester: `dev${n}`, gateKind: n === 7 ? 'safety' : 'slow', createdAt: `2026-06-22T03:${String(n).padStart(2, '0')}:00.000Z` },
    // dev7's decision is due first among the sev2s, then dev5; the rest in filing order.
    slaDeadline: n === 7 ? '2026-06-22T03:10:00.000Z' : n === 5 ? '2026-06-22T03:20:00.000Z' : `2026-06-23T03:${String(n).padStart(2, '0')}:00.000Z`,
  } as unknown as InboxItem;
}

test('the tray icon shows the count waiting (badge files exist for every count)', () => {
  assert.match(trayIconPath(ICON_DIR, 0), /tray\.png$/);
  assert.match(trayIconPath(ICON_DIR, 3), /tray-3\.png$/);
  assert.match(trayIconPath(ICON_DIR, 42), /tray-many\.png$/);
  for (const count of [0, 1, 5, 9, 10, 1000]) assert.ok(existsSync(trayIconPath(ICON_DIR, count)), `icon for ${count}`);
  for (const scale of ['@2x', '@3x']) assert.ok(existsSync(trayIconPath(ICON_DIR, 4).replace('.png', `${scale}.png`)));
});

test('the tray menu lists the most urgent requests (severity, then decision due; sev1 marked; click opens one), Open console, Pause 1 h and Quit', () => {
  const clicks: string[] = [];
  const tray = new ConsoleTray({
    createTray: (icon) => new FakeTray(icon) as never,
    buildMenu: (template) => ({ template }) as never,
    loadImage: (path) => ({ path }) as never,
    iconDir: ICON_DIR,
    onOpenConsole: () => clicks.push('open'),
    onOpenRequest: (id) => clicks.push(`request ${id}`),
    onPause: (minutes) => clicks.push(`pause ${minutes}`),
    onQuit: () => clicks.push('quit'),
  });
  const items = Array.from({ length: 8 }, (_, i) => item(i + 1));
  tray.update(items, 8);
  const fake = FakeTray.created.at(-1)!;
  assert.match(String((fake.image as { path: string }).path), /tray-8\.png$/);
  assert.match(fake.tooltip, /8 requests waiting/);
  const template = (fake.menu as { template: MenuItemConstructorOptions[] }).template;
  const requestEntries = template.filter((entry) => /SEV\d/.test(entry.label ?? ''));
  assert.equal(requestEntries.length, TRAY_MENU_REQUESTS);
  assert.deepEqual(
    requestEntries.map((e) => e.label),
    ['‼ SEV1 deploy-prod: dev3', 'SEV2 deploy-prod: dev7 (safety)', 'SEV2 deploy-prod: dev5', 'SEV2 deploy-prod: dev1', 'SEV2 deploy-prod: dev2'],
  );
  (requestEntries[0]!.click as () => void)();
  for (const label of ['Open console', 'Pause notifications for 1 h', 'Quit']) (template.find((e) => e.label === label)!.click as () => void)();
  assert.deepEqual(clicks, [`request ${item(3).request.id}`, 'open', 'pause 60', 'quit']);
  tray.update([], 0);
  assert.match(String((fake.image as { path: string }).path), /tray\.png$/);
});

test('the tray shows the session in trouble: error icon, "!" and the state in the tooltip and menu', () => {
  assert.ok(existsSync(trayIconPath(ICON_DIR, 3, 'token_rejected')));
  const tray = new ConsoleTray({
    createTray: (icon) => new FakeTray(icon) as never,
    buildMenu: (template) => ({ template }) as never,
    loadImage: (path) => ({ path }) as never,
    iconDir: ICON_DIR,
    onOpenConsole: () => undefined,
    onOpenRequest: () => undefined,
    onPause: () => undefined,
    onQuit: () => undefined,
  });
  tray.update([item(1)], 1);
  const fake = FakeTray.created.at(-1)!;
  tray.setConnection({ status: 'token_rejected', statusText: 'The store rejected your API token (revoked): sign in again' });
  assert.match(String((fake.image as { path: string }).path), /tray-error\.png$/);
  assert.match(fake.tooltip, /rejected your API token/);
  assert.match(fake.tooltip, /1 request waiting/);
  const template = (fake.menu as { template: MenuItemConstructorOptions[] }).template;
  assert.equal(template[0]!.label, 'The store rejected your API token (revoked): sign in again');
  tray.setConnection({ status: 'connected', statusText: 'Connected' });
  assert.match(String((fake.image as { path: string }).path), /tray-1\.png$/);
  assert.match(fake.tooltip, /^Breakglass: 1 request waiting/);
});
