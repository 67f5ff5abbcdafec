import type { BrowserWindow, IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { AppError } from '../../shared/errors';
import { MAIN_CHANNELS, type IpcResult, type MainChannel } from '../../shared/ipc/contract';
import type { ConsoleHandlers } from '../core/console-api';
import { dispatch } from '../core/dispatch';
import { APP_HOST, APP_SCHEME } from './app-protocol';

export interface IpcDeps {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  /** BrowserWindow.fromWebContents: which window a sender belongs to. */
  fromWebContents: (contents: WebContents) => BrowserWindow | null;
  /** The console window (the only one allowed to call main channels). */
  mainWindow: () => BrowserWindow | null;
  handlers: ConsoleHandlers;
}

/**
 * Why a sender is refused, or null when it is our console's main frame on app://console.
 * Checked before any payload is looked at (Fiddle's habit): a frame from another origin, a
 * subframe, or another window (the PIN prompt) gets nothing.
 */
export function senderRefusal(event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>, deps: Pick<IpcDeps, 'fromWebContents' | 'mainWindow'>): string | null {
  const window = deps.fromWebContents(event.sender);
  const main = deps.mainWindow();
  if (!window || !main || window !== main) return 'the sender is not the console window';
  const frame = event.senderFrame;
  // Top-level frame of our window: no parent (WebFrameMain wrappers are not guaranteed to be the
  // same object as sender.mainFrame, so identity alone is not relied on).
  if (!frame || frame.parent !== null) return 'the sender is not the main frame';
  let url: URL;
  try {
    url = new URL(frame.url);
  } catch {
    return 'the sender frame has no valid URL';
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return `the sender frame is not ${APP_SCHEME}://${APP_HOST} (got ${url.origin})`;
  return null;
}

/**
 * The one wrapper every channel goes through: sender check, then dispatch (contract parse,
 * handler, output check). Returns an IpcResult; never throws across the bridge.
 */
export function handle(deps: IpcDeps, channel: MainChannel): void {
  deps.ipcMain.handle(channel, async (event, rawInput: unknown): Promise<IpcResult<unknown>> => {
    const refusal = senderRefusal(event, deps);
    if (refusal) return { ok: false, error: new AppError('forbidden', `IPC refused: ${refusal}`).toBody() };
    return dispatch(deps.handlers, channel, rawInput);
  });
}

/** Bind every contract channel; returns the channels bound (tests check it is all of them). */
export function bindIpc(deps: IpcDeps): MainChannel[] {
  for (const channel of MAIN_CHANNELS) handle(deps, channel);
  return [...MAIN_CHANNELS];
}

export function unbindIpc(deps: Pick<IpcDeps, 'ipcMain'>): void {
  for (const channel of MAIN_CHANNELS) deps.ipcMain.removeHandler(channel);
}
