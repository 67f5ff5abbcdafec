import type { Scope } from '../domain/common';
import { MAX_CONTEXT_KEY_LENGTH, MAX_CONTEXT_VALUE_LENGTH } from '../domain/patterns';
import type { RequestLinkInput } from './request-link';

// Writing a request link (request-link.ts has the format, its schema and the reader), apart
// from the schemas so that a gate's `breakglass check` writes the link without loading zod.

export const REQUEST_PAGE_PATH = '/request';

/** What the gate enforces, in its own words (a Gatekeeper constraint, a Kyverno rule, a CI step). */
export const MAX_RULE_LENGTH = 200;
/** Browsers and proxies handle ~2,000-character URLs everywhere: context is dropped past this. */
export const MAX_REQUEST_LINK_LENGTH = 2000;
/** Context keys that name a credential never go into a link, whatever the gate sent. */
export const SECRET_KEY = /token|secret|password|passwd|credential|authorization|cookie|session/i;

/** The text form of a scope (attributes in their order). */
export function scopeToText(scope: Scope): string {
  return Object.entries(scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Query-string encoding: encodeURIComponent, which leaves nothing a query could misread. */
function param(name: string, value: string): string {
  return `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
}

/**
 * The link for a block answer. `storeUrl` is the store's public base URL (a path prefix is
 * kept). Context entries whose key names a credential are left out, and so are entries that
 * would make the link longer than MAX_REQUEST_LINK_LENGTH (gate, scope and rule always stay).
 */
export function requestLink(storeUrl: string, link: RequestLinkInput): string {
  const base = storeUrl.replace(/[?#].*$/s, '').replace(/\/+$/, '');
  const params = [param('gate', link.gate), param('scope', scopeToText(link.scope))];
  if (link.rule) params.push(param('rule', link.rule.slice(0, MAX_RULE_LENGTH)));
  let href = `${base}${REQUEST_PAGE_PATH}?${params.join('&')}`;
  for (const [key, value] of Object.entries(link.context ?? {})) {
    if (SECRET_KEY.test(key) || key.length > MAX_CONTEXT_KEY_LENGTH) continue;
    const next = `${href}&${param(`ctx.${key}`, value.slice(0, MAX_CONTEXT_VALUE_LENGTH))}`;
    if (next.length <= MAX_REQUEST_LINK_LENGTH) href = next;
  }
  return href;
}
