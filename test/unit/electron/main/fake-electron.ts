// A recording stand-in for the `electron` module (the binary cannot run here). Only what the glue
// touches; every call is recorded so tests can assert on it.
import type { BrowserWindowConstructorOptions } from 'electron';

type Listener = (...args: unknown[]) => unknown;

export class FakeEmitter {
  readonly listeners = new Map<string, Listener[]>();
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  once(event: string, listener: Listener): this {
    return this.on(event, listener);
  }
  removeListener(event: string, listener: Listener): this {
    this.listeners.set(event, (this.listeners.get(event) ?? []).filter((l) => l !== listener));
    return this;
  }
  emit(event: string, ...args: unknown[]): unknown[] {
    return (this.listeners.get(event) ?? []).map((l) => l(...args));
  }
}

export class FakeFrame {
  constructor(
    public url: string,
    /** null for a top-level frame, the parent frame for a subframe (as WebFrameMain.parent). */
    public parent: FakeFrame | null = null,
  ) {}
}

export class FakeWebContents extends FakeEmitter {
  windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;
  readonly sent: Array<{ channel: string; payload: unknown }> = [];
  readonly mainFrame: FakeFrame;
  constructor(url = 'app://console/') {
    super();
    this.mainFrame = new FakeFrame(url);
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
}

export class FakeBrowserWindow extends FakeEmitter {
  static readonly created: FakeBrowserWindow[] = [];
  static fromWebContents(contents: unknown): FakeBrowserWindow | null {
    return FakeBrowserWindow.created.find((w) => w.webContents === contents) ?? null;
  }
  readonly webContents = new FakeWebContents();
  visible = false;
  destroyed = false;
  loadedUrl: string | undefined;
  constructor(readonly options: BrowserWindowConstructorOptions) {
    super();
    FakeBrowserWindow.created.push(this);
  }
  loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.webContents.mainFrame.url = url;
    return Promise.resolve();
  }
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  focus(): void {}
  restore(): void {}
  isMinimized(): boolean {
    return false;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  close(): void {
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    this.emit('close', event);
    if (!event.defaultPrevented) {
      this.destroyed = true;
      this.emit('closed');
    }
  }
}

export class FakeTray extends FakeEmitter {
  static readonly created: FakeTray[] = [];
  image: unknown;
  tooltip = '';
  title = '';
  menu: unknown;
  destroyed = false;
  constructor(image: unknown) {
    super();
    this.image = image;
    FakeTray.created.push(this);
  }
  setImage(image: unknown): void {
    this.image = image;
  }
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setTitle(text: string): void {
    this.title = text;
  }
  setContextMenu(menu: unknown): void {
    this.menu = menu;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

export class FakeNotification extends FakeEmitter {
  static readonly shown: FakeNotification[] = [];
  static isSupported(): boolean {
    return true;
  }
  constructor(readonly options: { title: string; body: string }) {
    super();
  }
  show(): void {
    FakeNotification.shown.push(this);
  }
}

export function createFakeElectron(options: { appPath: string; userData: string; singleInstance?: boolean }) {
  const handlers = new Map<string, Listener>();
  const calls: Array<[string, ...unknown[]]> = [];
  const app = Object.assign(new FakeEmitter(), {
    requestSingleInstanceLock: () => {
      calls.push(['app.requestSingleInstanceLock']);
      return options.singleInstance ?? true;
    },
    quit: () => calls.push(['app.quit']),
    exit: (code: number) => calls.push(['app.exit', code]),
    whenReady: () => Promise.resolve(),
    getAppPath: () => options.appPath,
    getPath: (name: string) => (name === 'userData' ? options.userData : options.appPath),
    setLoginItemSettings: (settings: unknown) => calls.push(['app.setLoginItemSettings', settings]),
  });
  const session = {
    defaultSession: {
      permissionRequestHandler: undefined as Listener | undefined,
      permissionCheckHandler: undefined as Listener | undefined,
      headersHandler: undefined as Listener | undefined,
      setPermissionRequestHandler(handler: Listener) {
        this.permissionRequestHandler = handler;
      },
      setPermissionCheckHandler(handler: Listener) {
        this.permissionCheckHandler = handler;
      },
      webRequest: {
        onHeadersReceived(handler: Listener) {
          session.defaultSession.headersHandler = handler;
        },
      },
    },
  };
  return {
    calls,
    handlers,
    app,
    session,
    BrowserWindow: FakeBrowserWindow,
    Tray: FakeTray,
    Notification: FakeNotification,
    ipcMain: {
      handle: (channel: string, listener: Listener) => {
        if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
        handlers.set(channel, listener);
      },
      removeHandler: (channel: string) => handlers.delete(channel),
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown) => calls.push(['protocol.registerSchemesAsPrivileged', schemes]),
      handle: (scheme: string, handler: unknown) => calls.push(['protocol.handle', scheme, handler]),
    },
    shell: { openExternal: (url: string) => (calls.push(['shell.openExternal', url]), Promise.resolve()) },
    Menu: { buildFromTemplate: (template: unknown) => ({ template }) },
    nativeImage: { createFromPath: (path: string) => ({ path }) },
  };
}
