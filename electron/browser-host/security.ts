import { timingSafeEqual } from 'node:crypto';
import { consoleContentSecurityPolicy } from '../core/content-security-policy';

/** The console CSP (electron/core/content-security-policy.ts) for everything the host serves. */
export const BROWSER_HOST_CSP = consoleContentSecurityPolicy({ formAction: "'self'" });

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': BROWSER_HOST_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/**
 * DNS-rebinding defence: a page on evil.example that rebinds its name to 127.0.0.1 still sends
 * `Host: evil.example`, so only our exact loopback authorities are accepted.
 */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

export function isAllowedHost(hostHeader: string | undefined, port: number): boolean {
  return hostHeader !== undefined && allowedHosts(port).has(hostHeader.toLowerCase());
}

/** A missing Origin is fine (same-origin GETs, non-browser clients); a present one must be ours. */
export function isAllowedOrigin(originHeader: string | undefined, port: number): boolean {
  if (originHeader === undefined) return true;
  let origin: URL;
  try {
    origin = new URL(originHeader);
  } catch {
    return false;
  }
  return origin.protocol === 'http:' && origin.pathname === '/' && allowedHosts(port).has(origin.host.toLowerCase()) && origin.origin === originHeader.toLowerCase();
}

export function tokensEqual(given: string | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
