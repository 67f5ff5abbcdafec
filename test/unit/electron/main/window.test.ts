import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserWindowConstructorOptions } from 'electron';
import { APP_CSP } from '../../../../electron/main/app-protocol';
import { createMainWindow, hardenSession, hardenWebContents, mainWindowOptions, secureWebPreferences } from '../../../../electron/main/window';
import { FakeBrowserWindow, FakeWebContents, createFakeElectron } from './fake-electron';

function navigationEvent() {
  return { prevented: false, preventDefault() { this.prevented = true; } };
}

describe('console window', () => {
  test('web preferences are the secure ones and cannot be changed', () => {
    const prefs = secureWebPreferences('/app/preload.cjs');
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.nodeIntegrationInWorker, false);
    assert.equal(prefs.nodeIntegrationInSubFrames, false);
    assert.equal(prefs.webSecurity, true);
    assert.equal(prefs.allowRunningInsecureContent, false);
    assert.equal(prefs.webviewTag, false);
    assert.equal(prefs.experimentalFeatures, false);
    assert.equal(prefs.preload, '/app/preload.cjs');
    assert.ok(Object.isFrozen(prefs));
    const options = mainWindowOptions('/app/preload.cjs');
    assert.equal(options.show, false, 'starts hidden (to the tray)');
    assert.deepEqual(options.webPreferences, prefs);
  });

  test('navigation away from app://, redirects, webviews and new windows are denied', () => {
    const contents = new FakeWebContents();
    hardenWebContents(contents as never);
    for (const url of ['https://evil.example/', 'file:///etc/passwd', 'http://127.0.0.1:7410/', 'javascript:alert(1)', 'not a url']) {
      const event = navigationEvent();
      contents.emit('will-navigate', event, url);
      assert.equal(event.prevented, true, `navigation to ${url} is denied`);
      const redirect = navigationEvent();
      contents.emit('will-redirect', redirect, url);
      assert.equal(redirect.prevented, true, `redirect to ${url} is denied`);
    }
    const inApp = navigationEvent();
    contents.emit('will-navigate', inApp, 'app://console/requests/req_0123456789abcdef');
    assert.equal(inApp.prevented, false, 'in-app routes are allowed');
    const webview = navigationEvent();
    contents.emit('will-attach-webview', webview, {}, {});
    assert.equal(webview.prevented, true);
    assert.deepEqual(contents.windowOpenHandler?.({ url: 'https://example.com' }), { action: 'deny' });
    assert.deepEqual(contents.windowOpenHandler?.({ url: 'app://console/' }), { action: 'deny' });
  });

  test('the session denies every permission and adds the strict CSP to every response', () => {
    const fake = createFakeElectron({ appPath: '/app', userData: '/tmp/x' });
    const session = fake.session.defaultSession;
    hardenSession(session as never);
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      let granted: boolean | undefined;
      session.permissionRequestHandler!({}, permission, (answer: boolean) => (granted = answer));
      assert.equal(granted, false, `${permission} is denied`);
      assert.equal(session.permissionCheckHandler!({}, permission), false);
    }
    let headers: Record<string, string[]> | undefined;
    session.headersHandler!({ responseHeaders: { 'content-type': ['text/html'] } }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
    assert.deepEqual(headers?.['Content-Security-Policy'], [APP_CSP]);
    assert.deepEqual(headers?.['content-type'], ['text/html']);
  });

  test('the CSP allows only our own code: no inline script, no eval, no remote hosts, no framing', () => {
    const directives = new Map(APP_CSP.split(';').map((d) => { const [name, ...values] = d.trim().split(/\s+/); return [name, values]; }));
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.doesNotMatch(APP_CSP, /unsafe-inline|unsafe-eval|https?:|\*/);
  });

  test('the window loads app:// (not file://) and closing hides it unless the app is quitting', () => {
    let quitting = false;
    const window = createMainWindow({ BrowserWindow: FakeBrowserWindow as never, preload: '/p.cjs', url: 'app://console/', isQuitting: () => quitting }) as unknown as FakeBrowserWindow;
    assert.equal(window.loadedUrl, 'app://console/');
    assert.equal((window.options as BrowserWindowConstructorOptions).webPreferences?.sandbox, true);
    assert.ok(window.webContents.windowOpenHandler, 'the window contents are hardened');
    window.show();
    window.close();
    assert.equal(window.destroyed, false);
    assert.equal(window.visible, false, 'closing hides to the tray');
    quitting = true;
    window.close();
    assert.equal(window.destroyed, true);
  });
});
