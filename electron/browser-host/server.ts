import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../shared/errors';
import { BROWSER_HOST_LINK_REFUSED_HEADER, BROWSER_HOST_TOKEN_HEADER, type IpcResult, type RendererEvent } from '../../shared/ipc/contract';
import type { ConsoleBackend } from '../core/console-api';
import { dispatch } from '../core/dispatch';
import { STATIC_CONTENT_TYPES } from '../core/static-content-types';
import type { BrowserPinPromptBroker } from './pin-prompt-broker';
import { MAX_PIN_LENGTH } from './pin-prompt-broker';
import { SECURITY_HEADERS, isAllowedHost, isAllowedOrigin, tokensEqual } from './security';

/** The host only ever listens on loopback: it serves an approver's authority to a local browser. */
export const BROWSER_HOST_ADDRESS = '127.0.0.1';
/** Largest /ipc body accepted (a setup call with a long token is well under this). */
export const MAX_IPC_BODY_BYTES = 256 * 1024;
/** SSE keep-alive so proxies and the browser do not drop an idle stream. */
const SSE_HEARTBEAT_MS = 15_000;

/** The PIN page's markup and style, shared with the Electron PIN window (app://pin/). */
const PIN_PAGE_DIR = fileURLToPath(new URL('../pin-prompt/', import.meta.url));
/** The host's own fetch-based transport for that page (Electron's talks to its preload instead). */
const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
/** The page links its assets relatively, so from /pin-prompt/<id> they resolve under /pin-prompt/. */
const PIN_PAGE_ASSETS: Record<string, string> = {
  'pin-prompt.css': join(PIN_PAGE_DIR, 'pin-prompt.css'),
  'pin-prompt.js': join(STATIC_DIR, 'pin-prompt.js'),
};

export interface BrowserHostOptions {
  backend: ConsoleBackend;
  /** Directory of the built renderer (renderer/dist). */
  rendererDir: string;
  /** 0 = random free port (tests); default 7420 is chosen by the CLI, not here. */
  port?: number;
  /** Secret handed to the browser once; random 256-bit when omitted. */
  token?: string;
  /** Answers /pin-prompt/<id> pages; omit when the backend never asks for a PIN. */
  pinBroker?: BrowserPinPromptBroker;
}

export interface RunningBrowserHost {
  /** http://127.0.0.1:<port> (no token). */
  url: string;
  port: number;
  token: string;
  /** The URL to open in a browser: hands the token over once in the fragment (never sent to the server). */
  openUrl: string;
  close(): Promise<void>;
}

/**
 * Serves the built renderer and the console contract over HTTP on 127.0.0.1:
 *   POST /ipc/<channel>        JSON input → IpcResult (token header required)
 *   GET  /ipc/events           server-sent events, one per renderer event (token header or ?token=)
 *   GET  /pin-prompt/<id>      static PIN page (not the React app); POST answers the prompt
 *   GET  /*                    renderer/dist (index.html for app routes)
 * Every request must carry Host 127.0.0.1:<port> or localhost:<port> and, if present, a matching
 * Origin (DNS rebinding). Every response carries a strict CSP.
 */
export async function startBrowserHost(options: BrowserHostOptions): Promise<RunningBrowserHost> {
  const token = options.token ?? randomBytes(32).toString('hex');
  const rendererDir = resolve(options.rendererDir);
  const sseClients = new Set<ServerResponse>();
  let port = 0;

  const unsubscribe = options.backend.subscribe((event: RendererEvent, payload: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const client of sseClients) client.write(frame);
  });

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, failure(new AppError('internal', `internal error: ${error instanceof Error ? error.message : String(error)}`)));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (!isAllowedHost(req.headers.host, port)) {
      return sendJson(res, 421, failure(new AppError('forbidden', 'this console only answers on 127.0.0.1 / localhost (Host header refused)')));
    }
    if (!isAllowedOrigin(headerValue(req.headers.origin), port)) {
      return sendJson(res, 403, failure(new AppError('forbidden', 'cross-origin request refused')));
    }
    const url = new URL(req.url ?? '/', `http://${BROWSER_HOST_ADDRESS}:${port}`);
    const path = url.pathname;

    if (path.startsWith('/ipc/')) {
      const given = headerValue(req.headers[BROWSER_HOST_TOKEN_HEADER]) ?? (path === '/ipc/events' ? (url.searchParams.get('token') ?? undefined) : undefined);
      if (!tokensEqual(given, token)) {
        // The page's link is not (or no longer) this host's: the renderer shows "open the new link".
        res.setHeader(BROWSER_HOST_LINK_REFUSED_HEADER, 'refused');
        return sendJson(res, 401, failure(new AppError('unauthenticated', `missing or wrong ${BROWSER_HOST_TOKEN_HEADER} header`)));
      }
      if (path === '/ipc/events') {
        if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
        return openEventStream(req, res);
      }
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      let channel: string;
      try {
        channel = decodeURIComponent(path.slice('/ipc/'.length));
      } catch {
        return sendJson(res, 400, failure(new AppError('invalid_input', 'bad percent-encoding in the IPC channel name', { fieldErrors: [{ path: 'channel', message: 'percent-encoding does not decode to valid UTF-8' }] })));
      }
      const body = await readJsonBody(req);
      if (!body.ok) return sendJson(res, body.error.status, failure(body.error));
      const result = await dispatch(options.backend.handlers, channel, body.value);
      return sendJson(res, result.ok ? 200 : AppError.fromBody(result.error).status, result);
    }

    const pinMatch = /^\/pin-prompt\/([0-9a-f]{32})(\/context)?$/.exec(path);
    if (pinMatch) return handlePinPrompt(req, res, pinMatch[1] as string, Boolean(pinMatch[2]));
    const pinAsset = /^\/pin-prompt\/(pin-prompt\.(?:js|css))$/.exec(path);
    if (pinAsset) return sendFile(res, PIN_PAGE_ASSETS[pinAsset[1] as string] as string);

    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET');
    return serveRenderer(res, path);
  }

  function openEventStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    res.write(': breakglass console events\nretry: 2000\n\n');
    sseClients.add(res);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    heartbeat.unref();
    req.on('close', () => {
      clearInterval(heartbeat);
      sseClients.delete(res);
    });
  }

  async function handlePinPrompt(req: IncomingMessage, res: ServerResponse, promptId: string, wantsContext: boolean): Promise<void> {
    const broker = options.pinBroker;
    const context = broker?.describe(promptId);
    if (!broker || !context) return sendJson(res, 404, failure(new AppError('not_found', 'no such PIN prompt (answered or expired)')));
    if (req.method === 'GET') {
      if (wantsContext) return sendJson(res, 200, { purpose: context.purpose, tokenLabel: context.tokenLabel, keyLabel: context.keyLabel, attempt: context.attempt, previousError: context.previousError });
      return sendFile(res, join(PIN_PAGE_DIR, 'pin-prompt.html'));
    }
    if (req.method !== 'POST' || wantsContext) return methodNotAllowed(res, 'GET, POST');
    const body = await readJsonBody(req);
    if (!body.ok) return sendJson(res, body.error.status, failure(body.error));
    const answer = body.value as { pin?: unknown; cancel?: unknown } | null;
    if (answer && answer.cancel === true) {
      broker.cancel(promptId);
      return sendJson(res, 200, { ok: true });
    }
    if (!answer || typeof answer.pin !== 'string' || answer.pin.length === 0 || answer.pin.length > MAX_PIN_LENGTH) {
      return sendJson(res, 400, failure(new AppError('invalid_input', 'expected { "pin": "<1-255 characters>" } or { "cancel": true }', { fieldErrors: [{ path: 'pin', message: 'required' }] })));
    }
    broker.submit(promptId, answer.pin);
    return sendJson(res, 200, { ok: true });
  }

  async function serveRenderer(res: ServerResponse, path: string): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return sendJson(res, 400, failure(new AppError('invalid_input', 'bad path encoding')));
    }
    const candidate = resolve(rendererDir, `.${decoded}`);
    if (candidate !== rendererDir && !candidate.startsWith(rendererDir + sep)) {
      return sendJson(res, 404, failure(new AppError('not_found', 'not found')));
    }
    const file = await stat(candidate).catch(() => undefined);
    if (file?.isFile()) return sendFile(res, candidate);
    // App routes (/, /requests/req_…) get index.html; a missing asset is a plain 404.
    if (extname(decoded) !== '' && decoded !== '/') return sendJson(res, 404, failure(new AppError('not_found', `no such file: ${decoded}`)));
    const index = join(rendererDir, 'index.html');
    if (!(await stat(index).catch(() => undefined))?.isFile()) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`The console UI is not built (${index} is missing). Run: npm run build:renderer\n`);
      return;
    }
    return sendFile(res, index);
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, BROWSER_HOST_ADDRESS, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${BROWSER_HOST_ADDRESS}:${port}`;

  return {
    url,
    port,
    token,
    openUrl: `${url}/#token=${token}`,
    async close() {
      unsubscribe();
      options.pinBroker?.cancelAll();
      for (const client of sseClients) client.end();
      sseClients.clear();
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
    },
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function failure(error: AppError): IpcResult<never> {
  return { ok: false, error: error.toBody() };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendJson(res, 405, failure(new AppError('invalid_input', `method not allowed (allowed: ${allow})`)));
}

async function sendFile(res: ServerResponse, path: string): Promise<void> {
  const bytes = await readFile(path);
  res.writeHead(200, { 'content-type': STATIC_CONTENT_TYPES[extname(path)] ?? 'application/octet-stream', 'content-length': bytes.length });
  res.end(bytes);
}

type BodyResult = { ok: true; value: unknown } | { ok: false; error: AppError };

async function readJsonBody(req: IncomingMessage): Promise<BodyResult> {
  const type = headerValue(req.headers['content-type']) ?? '';
  if (!/^application\/json\b/i.test(type)) {
    return { ok: false, error: new AppError('unsupported_media_type', 'send the input as application/json') };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_IPC_BODY_BYTES) return { ok: false, error: new AppError('payload_too_large', `body larger than ${MAX_IPC_BODY_BYTES} bytes`) };
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, error: new AppError('invalid_input', 'the body is not valid JSON', { fieldErrors: [{ path: '', message: 'malformed JSON' }] }) };
  }
}
