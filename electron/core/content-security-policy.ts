/**
 * The console's Content-Security-Policy, one definition for every page we serve: the Electron
 * window and PIN window (app://, electron/main/app-protocol.ts) and the browser host
 * (electron/browser-host/security.ts). Our own scripts, styles and connections only; no inline
 * script or eval, no remote hosts, no framing, no plugins.
 *
 * The only knob is `form-action`: the Electron pages submit no forms ('none'); the browser host
 * allows same-origin posts ('self').
 */
export function consoleContentSecurityPolicy(options: { formAction: "'none'" | "'self'" }): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    `form-action ${options.formAction}`,
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}
