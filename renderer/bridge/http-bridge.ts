import { AppError } from '../../shared/errors';
import {
  BROWSER_HOST_LINK_REFUSED_HEADER,
  BROWSER_HOST_TOKEN_HEADER,
  rendererEvents,
  type IpcResult,
  type RendererEvent,
  type RendererEventPayload,
} from '../../shared/ipc/contract';
import { unwrap, type ConsoleBridge } from './console-bridge';

/** Reconnect delays for the event stream: quick first, then back off to a calm ceiling. */
const EVENT_RECONNECT_MIN_MS = 500;
const EVENT_RECONNECT_MAX_MS = 10_000;

type Listener = (payload: unknown) => void;

/**
 * The browser host transport: `POST /ipc/<channel>` and a server-sent event stream on
 * `GET /ipc/events`, both carrying the secret token in a header. The stream is read with fetch
 * (not EventSource) precisely so the token never has to go into a URL.
 */
export function httpBridge(origin: string, token: string): ConsoleBridge {
  const listeners = new Map<RendererEvent, Set<Listener>>();
  const invalidListeners = new Set<() => void>();
  let streaming = false;
  let linkInvalid = false;

  /** The host refused our token (it restarted with a new one, or the link was replaced): say so once. */
  const markLinkInvalid = () => {
    if (linkInvalid) return;
    linkInvalid = true;
    for (const listener of invalidListeners) listener();
  };
  const linkInvalidError = () =>
    new AppError('unauthenticated', 'This console link is no longer valid: the console host was restarted or gave out a new link. Open the new link it printed.');

  const hostDown = (why: string) =>
    new AppError('unavailable', `The console host at ${origin} is not answering (${why}). Is the browser host still running?`);

  async function call(channel: string, input: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${origin}/ipc/${channel}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [BROWSER_HOST_TOKEN_HEADER]: token },
        body: JSON.stringify(input ?? {}),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (error) {
      throw hostDown(error instanceof Error ? error.message : String(error));
    }
    if (response.status === 401 && response.headers.get(BROWSER_HOST_LINK_REFUSED_HEADER)) {
      markLinkInvalid();
      throw linkInvalidError();
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw hostDown(`HTTP ${response.status} without a JSON body`);
    }
    if (body && typeof body === 'object' && 'ok' in body) return unwrap(body as IpcResult<unknown>);
    if (body && typeof body === 'object' && 'error' in body) throw AppError.fromBody((body as { error: never }).error);
    throw hostDown(`HTTP ${response.status} with an unexpected body`);
  }

  function dispatch(event: string, data: string) {
    const set = listeners.get(event as RendererEvent);
    const schema = (rendererEvents as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>)[event];
    if (!set || !schema) return;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return;
    }
    // Events are validated here too: the renderer trusts the contract, not the wire.
    const parsed = schema.safeParse(json);
    if (!parsed.success) return;
    for (const listener of set) listener(parsed.data);
  }

  async function streamOnce(): Promise<void> {
    const response = await fetch(`${origin}/ipc/events`, {
      headers: { accept: 'text/event-stream', [BROWSER_HOST_TOKEN_HEADER]: token },
      credentials: 'omit',
      cache: 'no-store',
    });
    if (response.status === 401 && response.headers.get(BROWSER_HOST_LINK_REFUSED_HEADER)) markLinkInvalid();
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, '\n');
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length) dispatch(event, data.join('\n'));
      }
    }
  }

  function startStream() {
    if (streaming) return;
    streaming = true;
    let delay = EVENT_RECONNECT_MIN_MS;
    const loop = async () => {
      for (;;) {
        const started = Date.now();
        try {
          await streamOnce();
        } catch {
          // fall through to the backoff below
        }
        if (linkInvalid) return;
        if (Date.now() - started > EVENT_RECONNECT_MAX_MS) delay = EVENT_RECONNECT_MIN_MS;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, EVENT_RECONNECT_MAX_MS);
      }
    };
    void loop();
  }

  return {
    transport: 'browser',
    onLinkInvalid(callback) {
      invalidListeners.add(callback);
      if (linkInvalid) callback();
      return () => invalidListeners.delete(callback);
    },
    call: (channel, input) => call(channel, input) as never,
    on<E extends RendererEvent>(event: E, callback: (payload: RendererEventPayload<E>) => void) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(callback as Listener);
      startStream();
      return () => set.delete(callback as Listener);
    },
  };
}
