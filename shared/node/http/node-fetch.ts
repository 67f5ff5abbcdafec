import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';

/**
 * The part of `fetch` StoreClient uses (method, headers, a string body, an abort signal; the
 * answer's status and text), over node:http. Node's global fetch loads undici on its first call,
 * which costs a short-lived CLI process (a gate's `breakglass check`) more CPU than the rest of
 * the call; node:http is already in the process. node:https (and TLS) is loaded only for an
 * https store. Failures look like fetch's: a TypeError whose `cause` carries the system error
 * code (ECONNREFUSED, ENOTFOUND...), and the signal's reason when it aborts (TimeoutError).
 */
export async function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  const send = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[k] = v;
  const body = typeof init.body === 'string' ? Buffer.from(init.body) : undefined;
  if (init.body !== undefined && init.body !== null && body === undefined) throw new TypeError('nodeFetch sends string bodies only');
  if (body) headers['content-length'] = String(body.length);
  const options: RequestOptions = { method: init.method ?? 'GET', headers };

  return new Promise<Response>((resolve, reject) => {
    const req = send(url, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (error) => reject(fetchFailed(error)));
      res.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        const status = res.statusCode ?? 0;
        const bytes = Buffer.concat(chunks);
        // The body as bytes too (a ledger page goes to a worker thread undecoded).
        const arrayBuffer = async () => (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        resolve({ ok: status >= 200 && status < 300, status, text: async () => bytes.toString('utf8'), arrayBuffer } as Response);
      });
    });
    const onAbort = () => {
      req.destroy();
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(signal?.aborted ? signal.reason : fetchFailed(error));
    });
    req.end(body);
  });
}

function fetchFailed(error: Error): TypeError {
  return Object.assign(new TypeError('fetch failed'), { cause: error });
}
