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
  // A new link pasted into this tab (#token=… changed): take it and start over with it.
  window.addEventListener('hashchange', () => {
    if (!/(^#|&)token=/.test(window.location.hash)) return;
    takeHostToken(window.location, window.history, window.sessionStorage);
    window.location.reload();
  });
  const token = takeHostToken(window.location, window.history, window.sessionStorage);
  if (!token) {
    return new AppError(
      'unauthenticated',
      'This page needs the link the console host printed when it started (it ends in #token=…). Open that link; the token is never stored on disk.',
    );
  }
  return httpBridge(window.location.origin, token);
}
