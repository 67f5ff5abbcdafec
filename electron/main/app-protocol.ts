import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { consoleContentSecurityPolicy } from '../core/content-security-policy';
import { STATIC_CONTENT_TYPES } from '../core/static-content-types';

/** The renderer is served from app://console/ (never file://): a standard, secure, origin-isolated scheme. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'console';
/** The PIN prompt window's own origin: its page and preload share nothing with the React app. */
export const PIN_HOST = 'pin';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/`;

/** The console CSP (electron/core/content-security-policy.ts) on every app:// response; these pages post no forms. */
export const APP_CSP = consoleContentSecurityPolicy({ formAction: "'none'" });

/**
 * The `protocol.handle('app', …)` handler: app://console/<path> from the renderer build,
 * app://pin/<path> from the PIN prompt's own directory. Paths never leave their root; app routes
 * fall back to index.html; every response carries the CSP.
 */
export function createAppProtocolHandler(roots: { console: string; pin: string }): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const root = url.protocol === `${APP_SCHEME}:` ? (url.host === APP_HOST ? roots.console : url.host === PIN_HOST ? roots.pin : undefined) : undefined;
    if (!root || request.method !== 'GET') return respond(404, 'not found');
    const base = resolve(root);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return respond(400, 'bad path');
    }
    const candidate = resolve(base, `.${path}`);
    if (candidate !== base && !candidate.startsWith(base + sep)) return respond(404, 'not found');
    let file = candidate;
    if (!(await stat(candidate).catch(() => undefined))?.isFile()) {
      if (extname(path) !== '') return respond(404, 'not found');
      file = resolve(base, 'index.html');
    }
    const bytes = await readFile(file).catch(() => undefined);
    if (!bytes) return respond(404, 'not found');
    return new Response(new Uint8Array(bytes), {
      status: 200,
      headers: { 'content-type': STATIC_CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': APP_CSP, 'x-content-type-options': 'nosniff' },
    });
  };
}

function respond(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'content-security-policy': APP_CSP } });
}
