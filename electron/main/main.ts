import type { ConnectionState } from '../../shared/ipc/contract';
import { join } from 'node:path';
import type * as ElectronModule from 'electron';
import type { BrowserWindow } from 'electron';
import { composeConsole, type ConsoleCore, type ConsoleOptions } from '../core/compose-console';
import { createConsoleLogger } from '../core/logger';
import { parseSoftwareKeyFiles } from '../core/session/session-service';
import { APP_SCHEME, APP_URL, createAppProtocolHandler } from './app-protocol';
import { bindIpc } from './ipc';
import { showRequestNotification } from './notifications';
import { ElectronPinPrompt } from './pin-prompt-window';
import { ConsoleTray } from './tray';
import { createMainWindow, hardenSession, hardenWebContents } from './window';

type Electron = typeof ElectronModule;

/** Paths inside the app (the asar when packaged), relative to app.getAppPath(). */
export function appPaths(appRoot: string) {
  return {
    rendererDist: join(appRoot, 'renderer', 'dist'),
    pinPage: join(appRoot, 'electron', 'pin-prompt'),
    preload: join(appRoot, 'electron', 'main', 'dist', 'preload.cjs'),
    pinPreload: join(appRoot, 'electron', 'main', 'dist', 'pin-preload.cjs'),
    trayIcons: join(appRoot, 'build', 'icons', 'tray'),
    appIcon: join(appRoot, 'build', 'icons', '256x256.png'),
  };
}

export interface RunningConsoleApp {
  service: ConsoleCore;
  window: () => BrowserWindow | null;
  tray: ConsoleTray;
}

/**
 * The Electron glue. Takes the electron module as a parameter so tests can pass a fake one
 * (test/unit/electron/main); entry.ts passes the real one. All behaviour lives in the console core (composeConsole).
 */
export async function startConsoleApp(
  electron: Electron,
  argv: string[] = process.argv,
  /** Tests only: e.g. an in-memory keychain backend. */
  overrides: Pick<Partial<ConsoleOptions>, 'openVault' | 'signers' | 'fetchImpl' | 'logger'> = {},
): Promise<RunningConsoleApp | undefined> {
  const { app, BrowserWindow, ipcMain, protocol, session, shell, Menu, Tray, nativeImage, Notification } = electron;

  // One console per user: a second launch just shows the first one's window.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return undefined;
  }
  // Must happen before `ready`: app:// behaves like https (standard, secure origin, fetch allowed).
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  // Every web contents ever created (including ones we did not create ourselves) is hardened.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

  let quitting = false;
  let window: BrowserWindow | null = null;
  const paths = appPaths(app.getAppPath());

  const showWindow = () => {
    if (!window || window.isDestroyed()) return;
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };
  const openRequest = (id: string) => {
    showWindow();
    window?.webContents.send('console:renderer:open-request', { id });
  };
  app.on('second-instance', () => showWindow());
  app.on('activate', () => showWindow());
  // A tray app: closing the last window keeps running.
  app.on('window-all-closed', () => undefined);

  await app.whenReady();
  hardenSession(session.defaultSession);
  protocol.handle(APP_SCHEME, createAppProtocolHandler({ console: paths.rendererDist, pin: paths.pinPage }));

  const pinPrompt = new ElectronPinPrompt({
    BrowserWindow,
    ipcMain,
    fromWebContents: (contents) => BrowserWindow.fromWebContents(contents),
    preload: paths.pinPreload,
    parent: () => window,
  });
  const service = composeConsole({
    dataDir: app.getPath('userData'),
    logger: createConsoleLogger(),
    host: 'electron',
    storeUrl: process.env.BREAKGLASS_STORE || undefined,
    // Extra PKCS#11 modules (colon-separated absolute paths) set by whoever starts the app, never by the renderer.
    allowedPkcs11Modules: (process.env.BREAKGLASS_PKCS11_MODULES ?? '').split(':').filter(Boolean),
    // The demo's approver key files, offered only while no OS keychain is usable (set by `npm start`).
    softwareKeyFiles: parseSoftwareKeyFiles(process.env.BREAKGLASS_SOFTWARE_KEY_FILES),
    pinPrompt,
    notify: (notification) => showRequestNotification({ Notification, onClick: (id) => (id ? openRequest(id) : showWindow()), icon: paths.appIcon }, notification),
    openExternal: (url) => shell.openExternal(url),
    onSettingsChanged: (settings) => app.setLoginItemSettings({ openAtLogin: settings.startAtLogin, openAsHidden: true, args: ['--hidden'] }),
    ...overrides,
  });

  bindIpc({ ipcMain, fromWebContents: (contents) => BrowserWindow.fromWebContents(contents), mainWindow: () => window, handlers: service.handlers });

  const tray = new ConsoleTray({
    createTray: (icon) => new Tray(icon),
    buildMenu: (template) => Menu.buildFromTemplate(template),
    loadImage: (path) => nativeImage.createFromPath(path),
    iconDir: paths.trayIcons,
    onOpenConsole: showWindow,
    onOpenRequest: openRequest,
    onPause: (minutes) => void service.pauseNotifications(minutes),
    onQuit: () => app.quit(),
  });

  service.subscribe((event, payload) => {
    if (window && !window.isDestroyed()) window.webContents.send(event, payload);
    if (event === 'console:renderer:inbox-changed') tray.update(service.inbox, (payload as { count: number }).count);
    if (event === 'console:renderer:connection-changed') tray.setConnection(payload as ConnectionState);
  });

  window = createMainWindow({ BrowserWindow, preload: paths.preload, url: APP_URL, icon: paths.appIcon, isQuitting: () => quitting });
  let rendered = false;
  let showWhenRendered = false;
  window.once('ready-to-show', () => {
    rendered = true;
    if (showWhenRendered) showWindow();
  });

  app.on('before-quit', () => {
    quitting = true;
    tray.destroy();
    void service.stop();
  });

  await service.start();
  // Starts to the tray; the first run (setup needed) or an explicit launch without --hidden shows the window.
  const current = await service.handlers['console:main:get-session']({});
  showWhenRendered = !current.configured || !argv.includes('--hidden');
  if (showWhenRendered && rendered) showWindow();
  return { service, window: () => window, tray };
}
