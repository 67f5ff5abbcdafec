import { AppError, ErrorResponseSchema } from '../shared/errors';

/**
 * The page's only way out: the grant store's HTTP API on the page's own origin, with the
 * requester's bearer (a token or a sign-in session) kept in sessionStorage for this tab only.
 * Every failure is an AppError (the store's own body, or "unreachable").
 */
const TOKEN_KEY = 'breakglass.request-page.token';

export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = tokenStore.get();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new AppError('store_unreachable', `the grant store did not answer: ${(error as Error).message}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.ok) return json as T;
  const parsed = ErrorResponseSchema.safeParse(json);
  if (parsed.success) throw AppError.fromBody(parsed.data.error);
  throw new AppError('internal', `the store answered ${method} ${path} with HTTP ${response.status}`);
}

/**
 * Follow the store's event stream (GET /v1/events, server-sent events) with fetch, so the bearer
 * stays in a header (EventSource cannot send one). Calls `onEntry` with each ledger entry's JSON
 * text; reconnects after a drop with Last-Event-ID. Returns a function that stops it.
 */
export function followEvents(onEntry: (data: string) => void, onLive: (live: boolean) => void): () => void {
  const stop = new AbortController();
  let lastId: string | undefined;
  const run = async () => {
    while (!stop.signal.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        const token = tokenStore.get();
        if (token) headers.authorization = `Bearer ${token}`;
        if (lastId !== undefined) headers['last-event-id'] = lastId;
        const response = await fetch('/v1/events', { headers, signal: stop.signal });
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onLive(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let data = '';
            for (const line of frame.split('\n')) {
              if (line.startsWith('id:')) lastId = line.slice(3).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trim();
            }
            if (data) onEntry(data);
          }
        }
      } catch {
        // A dropped stream (store restart, network): shown as "reconnecting", retried below.
      }
      onLive(false);
      if (stop.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  };
  void run();
  return () => stop.abort();
}

/** Pause before reconnecting the event stream. */
const RECONNECT_MS = 2_000;
