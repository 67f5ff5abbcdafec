import { z } from 'zod';
import { MAX_CONTEXT_KEY_LENGTH, MAX_CONTEXT_VALUE_LENGTH } from '../domain/patterns';
import { ScopeSchema, SlugSchema } from '../domain/common';
import { MAX_REQUEST_LINK_LENGTH, MAX_RULE_LENGTH, SECRET_KEY } from './link-text';

export { MAX_REQUEST_LINK_LENGTH, MAX_RULE_LENGTH, REQUEST_PAGE_PATH, requestLink } from './link-text';

/**
 * The requester's one-click path: every block answer carries a link to the store's request
 * page, pre-filled with what was blocked. The format is stable and documented
 * (docs/integrations.md "The request link"):
 *
 *   <store>/request?gate=<gate>&scope=<key=value,...>[&rule=<rule>][&ctx.<key>=<value>...]
 *
 * It carries no secret: no token, no session, nothing the page trusts. The page treats every
 * field as a suggestion the requester can read before submitting, and the store validates the
 * request as it would any other. The link is written by requestLink (link-text.ts).
 */

export const RequestLinkSchema = z.strictObject({
  gate: SlugSchema,
  scope: ScopeSchema,
  rule: z.string().min(1).max(MAX_RULE_LENGTH).optional(),
  context: z.record(z.string().min(1).max(MAX_CONTEXT_KEY_LENGTH), z.string().max(MAX_CONTEXT_VALUE_LENGTH)).default({}),
});
export type RequestLink = z.infer<typeof RequestLinkSchema>;
export type RequestLinkInput = z.input<typeof RequestLinkSchema>;


/** `?a=1&b=x%20y` → [['a','1'], ['b','x y']] (form encoding: `+` is a space). */
function queryPairs(search: string): [string, string][] {
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      return text;
    }
  };
  return search
    .replace(/^\?/, '')
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0 ? [decode(part), ''] : [decode(part.slice(0, eq)), decode(part.slice(eq + 1))];
    });
}

/**
 * Read a request link's query (the request page does, then shows each field for review).
 * Throws the zod error on an invalid link: the page shows it field by field.
 */
export function parseRequestLink(search: string): RequestLink {
  const pairs = queryPairs(search);
  const get = (name: string) => pairs.find(([k]) => k === name)?.[1];
  const scope: Record<string, string> = {};
  for (const part of (get('scope') ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) scope[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const context: Record<string, string> = {};
  for (const [key, value] of pairs) {
    if (key.startsWith('ctx.') && !SECRET_KEY.test(key)) context[key.slice(4)] = value;
  }
  return RequestLinkSchema.parse({ gate: get('gate') ?? '', scope, rule: get('rule'), context });
}

/**
 * GET /request's query as the store accepts it: any link parameters (the page reads and checks
 * them itself, field by field), or `id=req_…` for a filed request's status. Bounded like a link.
 */
const linkParam = z.string().max(MAX_REQUEST_LINK_LENGTH);
export const RequestPageQuerySchema = z
  .object({ gate: linkParam.optional(), scope: linkParam.optional(), rule: linkParam.optional(), id: linkParam.optional() })
  // ctx.<key>=<value>: CI context, any key.
  .catchall(linkParam);

/** The page's assets as Vite names them (name-hash.ext): nothing else is served. */
export const REQUEST_PAGE_ASSET_PATTERN = /^[A-Za-z0-9_-]+(?:[.-][A-Za-z0-9_-]+)*\.(js|css|svg|woff2)$/;
export const RequestPageAssetParamsSchema = z.strictObject({ file: z.string().max(128).regex(REQUEST_PAGE_ASSET_PATTERN, 'not an asset of the request page') });

/** GET /request/sign-in: where the page was, to come back to after the IdP. */
export const RequestPageSignInQuerySchema = z.strictObject({ return: linkParam.optional() });
/** GET /request/callback: the IdP's authorization response (RFC 6749 4.1.2, RFC 9207 iss); IdPs may add their own parameters. */
export const RequestPageCallbackQuerySchema = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  iss: z.string().max(2048).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});
