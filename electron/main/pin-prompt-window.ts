import type { BrowserWindow, BrowserWindowConstructorOptions, IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { PIN_PROMPT_TIMEOUT_MS, pinCancelled, type PinPrompt, type PinPromptContext } from '../core/pin-prompt';
import { APP_SCHEME, PIN_HOST } from './app-protocol';
import { hardenWebContents, secureWebPreferences } from './window';

/** Channels of the PIN window only (not part of the console contract: the React app never sees them). */
export const PIN_CHANNELS = { context: 'pin:main:context', submit: 'pin:main:submit', cancel: 'pin:main:cancel' } as const;
/** Longest PIN accepted (PKCS#11 allows up to 255 bytes). */
const MAX_PIN_LENGTH = 255;

export interface PinWindowDeps {
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
  ipcMain: Pick<IpcMain, 'handle'>;
  fromWebContents: (contents: WebContents) => BrowserWindow | null;
  /** Preload of the PIN window (dist/pin-preload.cjs). */
  preload: string;
  /** The console window, as the PIN window's parent (so it stays on top of it). */
  parent: () => BrowserWindow | null;
  timeoutMs?: number;
}

/**
 * Electron's PinPrompt: a small separate window with its own static page (app://pin/) and its own
 * preload exposing only context/submit/cancel. The PIN goes from that page to main and straight
 * into the PKCS#11 login; it never enters the React renderer's process or memory.
 */
export class ElectronPinPrompt implements PinPrompt {
  private current: { window: BrowserWindow; context: PinPromptContext; resolve(pin: string): void; reject(error: Error): void; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly deps: PinWindowDeps) {
    const fromPinWindow = (event: IpcMainInvokeEvent): boolean => {
      const current = this.current;
      if (!current || deps.fromWebContents(event.sender) !== current.window || !event.senderFrame || event.senderFrame.parent !== null) return false;
      try {
        const url = new URL(event.senderFrame?.url ?? '');
        return url.protocol === `${APP_SCHEME}:` && url.host === PIN_HOST;
      } catch {
        return false;
      }
    };
    deps.ipcMain.handle(PIN_CHANNELS.context, (event) => {
      if (!fromPinWindow(event) || !this.current) return null;
      const { purpose, tokenLabel, keyLabel, attempt, previousError } = this.current.context;
      return { purpose, tokenLabel, keyLabel, attempt, previousError };
    });
    deps.ipcMain.handle(PIN_CHANNELS.submit, (event, pin: unknown) => {
      if (!fromPinWindow(event)) return false;
      if (typeof pin !== 'string' || pin.length === 0 || pin.length > MAX_PIN_LENGTH) return false;
      this.settle(pin);
      return true;
    });
    deps.ipcMain.handle(PIN_CHANNELS.cancel, (event) => {
      if (!fromPinWindow(event)) return false;
      this.settle(pinCancelled());
      return true;
    });
  }

  ask(context: PinPromptContext): Promise<string> {
    if (this.current) this.settle(pinCancelled('another PIN prompt replaced this one'));
    const parent = this.deps.parent();
    const window = new this.deps.BrowserWindow({
      width: 420,
      height: 300,
      resizable: false,
      minimizable: false,
      maximizable: false,
      alwaysOnTop: true,
      title: 'Breakglass: hardware key PIN',
      backgroundColor: '#0f1419',
      autoHideMenuBar: true,
      ...(parent ? { parent, modal: true } : {}),
      webPreferences: secureWebPreferences(this.deps.preload),
    });
    hardenWebContents(window.webContents);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(pinCancelled('the PIN prompt timed out')), this.deps.timeoutMs ?? PIN_PROMPT_TIMEOUT_MS);
      this.current = { window, context, resolve, reject, timer };
      window.on('closed', () => {
        if (this.current?.window === window) this.settle(pinCancelled());
      });
      void window.loadURL(`${APP_SCHEME}://${PIN_HOST}/pin-prompt.html`);
    });
  }

  private settle(outcome: string | Error): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    clearTimeout(current.timer);
    if (!current.window.isDestroyed()) current.window.close();
    if (typeof outcome === 'string') current.resolve(outcome);
    else current.reject(outcome);
  }
}
