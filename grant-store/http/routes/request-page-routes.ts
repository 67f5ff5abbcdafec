import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../../shared/errors';
import { REQUEST_PAGE_ASSET_PATTERN, REQUEST_PAGE_PATH } from '../../../shared/gates/request-link';
import type { RoutePlugin } from '../route-context';

const CONTENT_TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', woff2: 'font/woff2' };
/** The page's own policy, also sent as a header (the meta tag covers a saved copy). */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'; frame-ancestors 'none'";

/**
 * The package root (where package.json names "breakglass"): the routes run from the sources and
 * from the esbuild bundle in dist/cli, at different depths.
 */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'breakglass') return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/**
 * The requester's request page (request-page/, built by `npm run build:request-page` into
 * request-page/dist): GET /request serves it for every block link (`/request?gate=…&scope=…`)
 * and status link (`/request?id=req_…`); GET /request/assets/<file> its script and styles.
 * Both are public (contract roles 'public'): the page carries nothing secret, and every API call
 * it makes is authenticated.
 */
export const registerRequestPageRoutes: RoutePlugin = (_app, { route, pageSignIn: signIn }) => {
  const root = packageRoot();
  const dist = root ? join(root, 'request-page', 'dist') : undefined;
  const notBuilt = () => new AppError('unavailable', 'the request page is not built: run `npm run build:request-page` (npm install does it) and restart the store');

  route('requestPage', async ({ reply }) => {
    if (!dist) throw notBuilt();
    let html: string;
    try {
      html = await readFile(join(dist, 'index.html'), 'utf8');
    } catch {
      throw notBuilt();
    }
    return reply
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .type('text/html; charset=utf-8')
      .send(html);
  });

  route('requestPageSignIn', async ({ query, request, reply }) => {
    const url = await signIn.start(`${request.protocol}://${request.host}`, query.return);
    return reply.header('cache-control', 'no-store').redirect(url, 303);
  });

  route('requestPageCallback', async ({ query, request, reply }) => {
    let next: string;
    try {
      next = await signIn.finish(query, request.socket.remoteAddress ?? null);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      // Back to the page, which shows why (the fragment never reaches a server or a log).
      next = `${REQUEST_PAGE_PATH}#sign-in-error=${encodeURIComponent(error.message)}`;
    }
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(next, 303);
  });

  route('requestPageAsset', async ({ params, reply }) => {
    // The contract checked the name against REQUEST_PAGE_ASSET_PATTERN: no path can climb out.
    const ext = REQUEST_PAGE_ASSET_PATTERN.exec(params.file)![1]!;
    let body: Buffer;
    try {
      if (!dist) throw notBuilt();
      body = await readFile(join(dist, 'assets', params.file));
    } catch {
      throw new AppError('not_found', `no asset ${params.file} of the request page`);
    }
    // Names carry a content hash: a new build has new names.
    return reply.header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').type(CONTENT_TYPES[ext]!).send(body);
  });
};
