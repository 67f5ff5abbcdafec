import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mainContract, type MainChannel } from '../../../../shared/ipc/contract';
import type { ConsoleHandlers } from '../../../../electron/core/console-api';
import { bindIpc, unbindIpc } from '../../../../electron/main/ipc';
import { FakeBrowserWindow, FakeFrame, createFakeElectron } from './fake-electron';

/** Handlers that record calls and return a minimal valid output for the channels used below. */
function recordingHandlers() {
  const calls: Array<{ channel: string; input: unknown }> = [];
  const outputs: Partial<Record<MainChannel, unknown>> = {
    'console:main:pause-notifications': { notificationThreshold: { severities: ['sev1'], criticalTiers: null }, pauseUntil: null, startAtLogin: false, pinCacheMinutes: 0 },
    'console:main:open-external': { opened: true, url: 'https://example.com/' },
  };
  const handlers = new Proxy({} as ConsoleHandlers, {
    get: (_t, channel: string) => async (input: unknown) => {
      calls.push({ channel, input });
      return outputs[channel as MainChannel];
    },
  });
  return { handlers, calls };
}

function setup() {
  const fake = createFakeElectron({ appPath: '/app', userData: '/tmp/none' });
  const main = new FakeBrowserWindow({});
  void main.loadURL('app://console/');
  const { handlers, calls } = recordingHandlers();
  const bound = bindIpc({ ipcMain: fake.ipcMain as never, fromWebContents: (c) => FakeBrowserWindow.fromWebContents(c) as never, mainWindow: () => main as never, handlers });
  const invoke = (channel: string, input: unknown, event?: { sender: unknown; senderFrame: unknown }) =>
    fake.handlers.get(channel)!(event ?? { sender: main.webContents, senderFrame: main.webContents.mainFrame }, input) as Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string; fieldErrors?: Array<{ path: string }> } }>;
  return { fake, main, bound, invoke, calls };
}

describe('ipc handle()', () => {
  test('binds every contract channel, each exactly once', () => {
    const { fake, bound } = setup();
    const channels = Object.keys(mainContract).sort();
    assert.deepEqual([...bound].sort(), channels);
    assert.deepEqual([...fake.handlers.keys()].sort(), channels);
    unbindIpc({ ipcMain: fake.ipcMain as never });
    assert.equal(fake.handlers.size, 0);
  });

  test('passes a parsed payload from our main frame to the handler and returns { ok, value }', async () => {
    const { invoke, calls } = setup();
    const result = await invoke('console:main:pause-notifications', { minutes: 60 });
    assert.equal(result.ok, true);
    assert.deepEqual(calls, [{ channel: 'console:main:pause-notifications', input: { minutes: 60 } }]);
  });

  test('rejects a foreign sender before looking at the payload', async () => {
    const { invoke, main, calls } = setup();
    const other = new FakeBrowserWindow({});
    void other.loadURL('app://console/');
    const subframe = new FakeFrame('app://console/', main.webContents.mainFrame);
    const foreign = [
      { name: 'another window (e.g. the PIN prompt)', event: { sender: other.webContents, senderFrame: other.webContents.mainFrame } },
      { name: 'a subframe of the console window', event: { sender: main.webContents, senderFrame: subframe } },
      { name: 'a web contents with no window', event: { sender: { mainFrame: new FakeFrame('app://console/') }, senderFrame: new FakeFrame('app://console/') } },
      { name: 'no sender frame (already navigated away or destroyed)', event: { sender: main.webContents, senderFrame: null } },
    ];
    for (const { name, event } of foreign) {
      const result = await invoke('console:main:pause-notifications', { minutes: 60 }, event);
      assert.equal(result.ok, false, name);
      assert.equal(result.error?.code, 'forbidden', name);
    }
    for (const url of ['https://evil.example/', 'file:///app/renderer/dist/index.html', 'app://pin/pin-prompt.html', 'http://127.0.0.1:7420/']) {
      main.webContents.mainFrame.url = url;
      const result = await invoke('console:main:pause-notifications', { minutes: 60 });
      assert.equal(result.error?.code, 'forbidden', `frame at ${url} is refused`);
    }
    assert.equal(calls.length, 0, 'no handler ran for a foreign sender');
  });

  test('rejects invalid payloads with field paths and never calls the handler', async () => {
    const { invoke, calls } = setup();
    const cases: Array<[string, unknown, string]> = [
      ['console:main:pause-notifications', { minutes: -5 }, 'minutes'],
      ['console:main:pause-notifications', { minutes: 60, extra: 1 }, 'extra'],
      ['console:main:approve', { id: 'not-a-request', ttl: '1h' }, 'id'],
      ['console:main:approve', { id: 'req_0123456789abcdef', ttl: '1 hour' }, 'ttl'],
      ['console:main:deny', { id: 'req_0123456789abcdef', comment: 'no' }, 'comment'],
      // A decision names the digest the approver was shown: without it nothing is signed.
      ['console:main:approve', { id: 'req_0123456789abcdef', ttl: '1h' }, 'digest'],
      ['console:main:revoke', { id: 'req_0123456789abcdef', digest: 'sha256:abc', comment: 'done now' }, 'digest'],
      ['console:main:setup', { storeUrl: 'ftp://x', token: 'abcdefghij', key: { kind: 'software' } }, 'storeUrl'],
      ['console:main:setup', { storeUrl: 'http://127.0.0.1:7410', token: 'abcdefghij', key: { kind: 'pkcs11' } }, 'key.modulePath'],
      ['console:main:open-external', { url: 42 }, 'url'],
    ];
    for (const [channel, input, path] of cases) {
      const result = await invoke(channel, input);
      assert.equal(result.ok, false, `${channel} ${JSON.stringify(input)}`);
      assert.equal(result.error?.code, 'invalid_input');
      assert.ok(result.error?.fieldErrors?.some((f) => f.path === path), `${channel}: field error at "${path}" in ${JSON.stringify(result.error?.fieldErrors)}`);
    }
    const notJson = await invoke('console:main:pause-notifications', 'minutes=5');
    assert.equal(notJson.error?.code, 'invalid_input');
    assert.equal(calls.length, 0);
  });

  test('a handler whose output breaks the contract becomes an internal error, not a half-shaped object', async () => {
    const { invoke } = setup();
    const result = await invoke('console:main:get-settings', {});
    assert.equal(result.ok, false);
    assert.equal(result.error?.code, 'internal');
    assert.match(result.error?.message ?? '', /breaks the contract/);
  });
});
