import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mainContract } from '../../../../shared/ipc/contract';
import { startConsoleApp, type RunningConsoleApp } from '../../../../electron/main/main';
import { showRequestNotification } from '../../../../electron/main/notifications';
import { CredentialVault } from '../../../../electron/core/vault/credential-vault';
import { FakeBrowserWindow, FakeNotification, FakeTray, FakeWebContents, createFakeElectron } from './fake-electron';

const memoryVault = () => {
  const secrets = new Map<string, string>();
  return () =>
    CredentialVault.open({
      backend: {
        getPassword: async (s, a) => secrets.get(`${s}/${a}`) ?? null,
        setPassword: async (s, a, p) => void secrets.set(`${s}/${a}`, p),
        deletePassword: async (s, a) => secrets.delete(`${s}/${a}`),
      },
    });
};

describe('startConsoleApp (Electron glue with a fake electron module)', () => {
  let dir: string;
  let fake: ReturnType<typeof createFakeElectron>;
  let running: RunningConsoleApp | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-main-'));
    fake = createFakeElectron({ appPath: '/opt/breakglass/resources/app.asar', userData: dir });
    running = await startConsoleApp(fake as never, ['electron', '.'], { openVault: memoryVault() });
  });

  after(async () => {
    fake.app.emit('before-quit');
    await running?.service.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('takes the single-instance lock and registers app:// as a privileged secure scheme before ready', () => {
    assert.equal(fake.calls[0]?.[0], 'app.requestSingleInstanceLock');
    const schemes = fake.calls.find((c) => c[0] === 'protocol.registerSchemesAsPrivileged')?.[1] as Array<{ scheme: string; privileges: Record<string, boolean> }>;
    assert.equal(schemes[0]?.scheme, 'app');
    assert.equal(schemes[0]?.privileges.standard, true);
    assert.equal(schemes[0]?.privileges.secure, true);
    assert.ok(fake.calls.some((c) => c[0] === 'protocol.handle' && c[1] === 'app'), 'app:// is served by protocol.handle');
  });

  test('binds every contract channel (plus the PIN window channels, nothing else)', () => {
    const bound = [...fake.handlers.keys()];
    for (const channel of Object.keys(mainContract)) assert.ok(bound.includes(channel), `${channel} is bound`);
    assert.deepEqual(bound.filter((c) => !(c in mainContract)).sort(), ['pin:main:cancel', 'pin:main:context', 'pin:main:submit']);
  });

  test('creates one hidden, sandboxed console window on app://console and a tray icon', () => {
    const window = running!.window() as unknown as FakeBrowserWindow;
    assert.ok(FakeBrowserWindow.created.includes(window));
    assert.equal(window.loadedUrl, 'app://console/');
    assert.equal(window.options.show, false);
    assert.equal(window.options.webPreferences?.sandbox, true);
    assert.equal(window.options.webPreferences?.contextIsolation, true);
    assert.equal(window.options.webPreferences?.nodeIntegration, false);
    assert.match(String(window.options.webPreferences?.preload), /electron\/main\/dist\/preload\.cjs$/);
    assert.equal(FakeTray.created.length, 1);
  });

  test('every web contents created later is hardened too', () => {
    const contents = new FakeWebContents('app://console/');
    fake.app.emit('web-contents-created', {}, contents);
    assert.deepEqual(contents.windowOpenHandler?.({ url: 'https://x.example' }), { action: 'deny' });
  });

  test('an unconfigured console shows its window (setup screen); a second launch shows it again', async () => {
    const window = running!.window() as unknown as FakeBrowserWindow;
    window.emit('ready-to-show');
    assert.equal(window.visible, true);
    window.close();
    assert.equal(window.visible, false, 'closing hides to the tray');
    fake.app.emit('second-instance');
    assert.equal(window.visible, true);
  });

  test('renderer events reach the window and inbox changes update the tray', () => {
    const window = running!.window() as unknown as FakeBrowserWindow;
    running!.service.events.emit('console:renderer:inbox-changed', { count: 2 });
    assert.deepEqual(window.webContents.sent.at(-1), { channel: 'console:renderer:inbox-changed', payload: { count: 2 } });
    assert.match(FakeTray.created[0]!.tooltip, /2 requests waiting/);
  });

  test('start at login is applied through app.setLoginItemSettings', async () => {
    await running!.service.handlers['console:main:update-settings']({ startAtLogin: true });
    const call = fake.calls.find((c) => c[0] === 'app.setLoginItemSettings');
    assert.equal((call?.[1] as { openAtLogin: boolean }).openAtLogin, true);
  });

  test('a second instance quits at once without creating anything', async () => {
    const second = createFakeElectron({ appPath: '/app', userData: dir, singleInstance: false });
    const windowsBefore = FakeBrowserWindow.created.length;
    const result = await startConsoleApp(second as never, [], { openVault: memoryVault() });
    assert.equal(result, undefined);
    assert.ok(second.calls.some((c) => c[0] === 'app.quit'));
    assert.equal(FakeBrowserWindow.created.length, windowsBefore);
    assert.equal(second.handlers.size, 0);
  });
});

test('a notification names the request and clicking it opens that request', () => {
  const opened: (string | null)[] = [];
  const shown = showRequestNotification(
    { Notification: FakeNotification as never, onClick: (id) => opened.push(id) },
    { kind: 'request', requestId: 'req_0123456789abcdef', severity: 'sev1', title: 'SEV1 bypass request: deploy-prod', body: 'alice (payments) asks…' },
  );
  assert.equal(shown, true);
  const native = FakeNotification.shown.at(-1)!;
  assert.equal(native.options.title, 'SEV1 bypass request: deploy-prod');
  native.emit('click');
  assert.deepEqual(opened, ['req_0123456789abcdef']);
});
