import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ElectronPinPrompt, PIN_CHANNELS } from '../../../../electron/main/pin-prompt-window';
import { FakeBrowserWindow, createFakeElectron } from './fake-electron';

function setup(timeoutMs?: number) {
  const fake = createFakeElectron({ appPath: '/app', userData: '/tmp/none' });
  const consoleWindow = new FakeBrowserWindow({});
  void consoleWindow.loadURL('app://console/');
  const prompt = new ElectronPinPrompt({
    BrowserWindow: FakeBrowserWindow as never,
    ipcMain: fake.ipcMain as never,
    fromWebContents: (c) => FakeBrowserWindow.fromWebContents(c) as never,
    preload: '/app/electron/main/dist/pin-preload.cjs',
    parent: () => consoleWindow as never,
    timeoutMs,
  });
  const call = (channel: string, window: FakeBrowserWindow, ...args: unknown[]) =>
    fake.handlers.get(channel)!({ sender: window.webContents, senderFrame: window.webContents.mainFrame }, ...args);
  return { fake, consoleWindow, prompt, call };
}

const context = { purpose: 'approve req_0123456789abcdef (ci-tests)', tokenLabel: 'bg', keyLabel: 'bob', attempt: 1, previousError: null };

test('the PIN window is separate, sandboxed, on app://pin, and only it may answer', async () => {
  const { consoleWindow, prompt, call } = setup();
  const asked = prompt.ask(context);
  const pinWindow = FakeBrowserWindow.created.at(-1)!;
  assert.notEqual(pinWindow, consoleWindow);
  assert.equal(pinWindow.loadedUrl, 'app://pin/pin-prompt.html');
  assert.equal(pinWindow.options.webPreferences?.sandbox, true);
  assert.equal(pinWindow.options.webPreferences?.contextIsolation, true);
  assert.equal(pinWindow.options.webPreferences?.nodeIntegration, false);
  assert.match(String(pinWindow.options.webPreferences?.preload), /pin-preload\.cjs$/);
  // The React console window cannot read the context or submit a PIN.
  assert.equal(await call(PIN_CHANNELS.context, consoleWindow), null);
  assert.equal(await call(PIN_CHANNELS.submit, consoleWindow, '123456'), false);
  assert.deepEqual(await call(PIN_CHANNELS.context, pinWindow), { purpose: context.purpose, tokenLabel: 'bg', keyLabel: 'bob', attempt: 1, previousError: null });
  assert.equal(await call(PIN_CHANNELS.submit, pinWindow, ''), false, 'an empty PIN is refused');
  assert.equal(await call(PIN_CHANNELS.submit, pinWindow, '123456'), true);
  assert.equal(await asked, '123456');
  assert.equal(pinWindow.destroyed, true, 'the window closes once answered');
});

test('closing the PIN window or cancelling rejects; nothing is signed', async () => {
  const { prompt, call } = setup();
  const closed = prompt.ask(context);
  FakeBrowserWindow.created.at(-1)!.close();
  await assert.rejects(closed, /cancelled: nothing was signed/);
  const cancelled = prompt.ask(context);
  await call(PIN_CHANNELS.cancel, FakeBrowserWindow.created.at(-1)!);
  await assert.rejects(cancelled, /cancelled/);
});

test('an unanswered PIN prompt times out', async () => {
  const { prompt } = setup(30);
  await assert.rejects(prompt.ask(context), /timed out/);
});
