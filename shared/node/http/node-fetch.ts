import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';

/**
 * The part of `fetch` StoreClient uses (method, headers, a string body, an abort signal; the
 * answer's status and text), over node:http. Node's global fetch loads undici on its first call,
 * which costs a short-lived CLI process (a gate's `breakglass check`) more CPU than the rest of
 * the call; node:http is already in the process. node:https (and TLS) is loaded only for an
 * https store. Failures look like fetch's: a TypeError whose `cause` carries the system error
 * code (ECONNREFUSED, ENOTFOUND...), and the signal's reason when it aborts (TimeoutError).
 */
/**
 * What nodeFetch takes beyond RequestInit: `into`, asked with the answer's content-length, may
 * give the bytes a place of that length (a buffer the caller reuses); each chunk is copied there
 * as it arrives, and `arrayBuffer()` then answers that place's ArrayBuffer (see bodyOf).
 */
export interface NodeFetchInit extends RequestInit {
  into?: (length: number) => Uint8Array | undefined;
}

/** The body bytes nodeFetch read into a place given by `into` (its ArrayBuffer may be longer), else undefined. */
export function bodyOf(response: Response): Uint8Array | undefined {
  return (response as Response & { [BODY]?: Uint8Array })[BODY];
}
const BODY = Symbol('nodeFetch body');

export async function nodeFetch(input: string | URL | Request, init: NodeFetchInit = {}): Promise<Response> {
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
      const status = res.statusCode ?? 0;
      const length = Number(res.headers['content-length']);
      // Only a successful answer of a known length goes into the caller's place (errors are read as text).
      const place = status >= 200 && status < 300 && Number.isSafeInteger(length) && length > 0 ? init.into?.(length) : undefined;
      const chunks: Buffer[] = [];
      /** Bytes copied into `place`, from its start; what does not fit (a body longer than announced) goes to `chunks`. */
      let placed = 0;
      res.on('data', (c: Buffer) => {
        // Copied at once: the chunk dies young, and no second copy of the whole body is made.
        if (place && chunks.length === 0 && placed + c.length <= place.length) {
          place.set(c, placed);
          placed += c.length;
        } else chunks.push(c);
      });
      res.on('error', (error) => reject(fetchFailed(error)));
      res.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        const whole = place !== undefined && chunks.length === 0 && placed === place.length;
        const bytes = whole ? Buffer.from(place.buffer, place.byteOffset, place.byteLength) : place ? Buffer.concat([place.subarray(0, placed), ...chunks]) : Buffer.concat(chunks);
        // The body as bytes too (a ledger page goes to a worker thread undecoded).
        const arrayBuffer = async () => (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        resolve({ ok: status >= 200 && status < 300, status, text: async () => bytes.toString('utf8'), arrayBuffer, ...(whole ? { [BODY]: place } : {}) } as Response);
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
