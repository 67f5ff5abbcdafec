import type { BrowserWindow, BrowserWindowConstructorOptions, Session, WebContents, WebPreferences } from 'electron';
import { APP_CSP, APP_SCHEME } from './app-protocol';

/**
 * The only web preferences a console window ever gets (ARCHITECTURE.md invariant 5). Frozen so no
 * caller can weaken them by accident.
 */
export function secureWebPreferences(preload: string): WebPreferences {
  return Object.freeze({
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
  }) as WebPreferences;
}

export function mainWindowOptions(preload: string, icon?: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false, // starts to the tray; shown on "Open console", a notification click or a second launch
    title: 'Breakglass',
    backgroundColor: '#0f1419',
    autoHideMenuBar: true,
    ...(icon ? { icon } : {}),
    webPreferences: secureWebPreferences(preload),
  };
}

type HardenableContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/**
 * Deny everything a compromised or confused page could use to leave the app: navigation away from
 * app://, new windows (window.open, target=_blank), and <webview>. Links go through the
 * open-external channel instead, which checks the allow-list.
 */
export function hardenWebContents(contents: HardenableContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** In-app navigation (React routes) stays on app://; anything else is refused. */
export function isAppUrl(raw: string): boolean {
  try {
    return new URL(raw).protocol === `${APP_SCHEME}:`;
  } catch {
    return false;
  }
}

type HardenableSession = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> & {
  webRequest: Pick<Session['webRequest'], 'onHeadersReceived'>;
};

/** No page gets a permission (camera, notifications, clipboard…), and every response gets the CSP. */
export function hardenSession(session: HardenableSession): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [APP_CSP] } });
  });
}

type WindowFactory = new (options: BrowserWindowConstructorOptions) => BrowserWindow;

/** The console window: secure options, hardened contents, closing hides it to the tray. */
export function createMainWindow(deps: { BrowserWindow: WindowFactory; preload: string; url: string; icon?: string; isQuitting: () => boolean }): BrowserWindow {
  const window = new deps.BrowserWindow(mainWindowOptions(deps.preload, deps.icon));
  hardenWebContents(window.webContents);
  window.on('close', (event) => {
    if (!deps.isQuitting()) {
      event.preventDefault();
      window.hide();
    }
  });
  void window.loadURL(deps.url);
  return window;
}
