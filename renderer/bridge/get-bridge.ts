import { AppError } from '../../shared/errors';
import type { BreakglassApi } from '../../shared/ipc/contract';
import { takeHostToken } from './browser-token';
import type { ConsoleBridge } from './console-bridge';
import { electronBridge } from './electron-bridge';
import { httpBridge } from './http-bridge';

declare global {
  interface Window {
    /** Exposed by electron/preload through contextBridge; absent in the browser host. */
    breakglass?: BreakglassApi;
  }
}

/**
 * Electron preload when present, else the browser host over HTTP. Returns an AppError (as data)
 * when neither is possible, so the app can say exactly what is wrong instead of a blank page.
 */
export function createBridge(): ConsoleBridge | AppError {
  if (window.breakglass) return electronBridge(window.breakglass);
  const token = takeHostToken(window.location, window.history, window.sessionStorage);
  if (!token) {
    return new AppError(
      'unauthenticated',
      'This page needs the one-time link printed by the browser host (it ends in #token=…). Open that link again; the token is never stored on disk.',
    );
  }
  return httpBridge(window.location.origin, token);
}
