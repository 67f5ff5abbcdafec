// A minimal stand-in for Electron's runtime module, loaded in place of `electron` when the bundled
// main process (electron/main/dist/main.cjs) is smoke-tested under plain Node. It reports what the
// app did on stdout as one JSON line once every IPC channel is bound and the window exists.
const { EventEmitter } = require('node:events');

const report = { handled: [], schemes: [], protocols: [], windows: [], singleInstance: false };
let reported = false;
function maybeReport() {
  if (reported || report.windows.length === 0 || report.handled.length < Number(process.env.EXPECTED_CHANNELS)) return;
  reported = true;
  process.stdout.write(`${JSON.stringify(report)}\n`);
  setTimeout(() => process.exit(0), 50);
}

class WebContents extends EventEmitter {
  constructor() {
    super();
    this.mainFrame = { url: '' };
  }
  setWindowOpenHandler() {}
  send() {}
}
class BrowserWindow extends EventEmitter {
  static fromWebContents() {
    return null;
  }
  constructor(options) {
    super();
    this.webContents = new WebContents();
    report.windows.push({ show: options.show, webPreferences: options.webPreferences });
    setImmediate(maybeReport);
  }
  loadURL(url) {
    report.windows[report.windows.length - 1].url = url;
    return Promise.resolve();
  }
  isDestroyed() {
    return false;
  }
  isMinimized() {
    return false;
  }
  show() {}
  hide() {}
  focus() {}
  restore() {}
  close() {}
}
class Tray extends EventEmitter {
  setImage() {}
  setToolTip() {}
  setTitle() {}
  setContextMenu() {}
  destroy() {}
}
class Notification extends EventEmitter {
  static isSupported() {
    return false;
  }
  show() {}
}
const app = Object.assign(new EventEmitter(), {
  requestSingleInstanceLock: () => (report.singleInstance = true),
  quit: () => {},
  exit: (code) => process.exit(code),
  whenReady: () => Promise.resolve(),
  getAppPath: () => process.env.APP_ROOT,
  getPath: () => process.env.USER_DATA,
  setLoginItemSettings: () => {},
});
module.exports = {
  app,
  BrowserWindow,
  Tray,
  Notification,
  ipcMain: {
    handle: (channel) => {
      report.handled.push(channel);
      setImmediate(maybeReport);
    },
    removeHandler: () => {},
  },
  protocol: {
    registerSchemesAsPrivileged: (schemes) => report.schemes.push(...schemes),
    handle: (scheme) => report.protocols.push(scheme),
  },
  session: {
    defaultSession: { setPermissionRequestHandler() {}, setPermissionCheckHandler() {}, webRequest: { onHeadersReceived() {} } },
  },
  shell: { openExternal: () => Promise.resolve() },
  Menu: { buildFromTemplate: (template) => ({ template }) },
  nativeImage: { createFromPath: (path) => ({ path }) },
  contextBridge: { exposeInMainWorld: () => {} },
  ipcRenderer: { invoke: () => Promise.resolve(), on() {}, removeListener() {} },
};
