import { connect } from 'node:net';

/**
 * One HTTP/1.1 request on a connection of its own, over a bare TCP socket: `breakglass check`'s
 * fast path (grant-store/cli/fast-check.ts) to an http: store. node:http would load its client,
 * agent, server, parser and stream modules, which cost a gate's cold start about 5 ms of CPU
 * (measured with perf stat, a third of what the check adds to `node -e 0`); node:net is already
 * in the process whenever stdout is a pipe or a terminal. https: stores go through nodeFetch.
 *
 * The request is ours (`connection: close`, a string body with its length). The answer is read
 * as RFC 9112 frames it: a status line, header fields, then a body delimited by Content-Length,
 * the chunked transfer coding, or the end of the connection; interim 1xx answers are skipped.
 * Anything else is refused as a parse error rather than guessed at. Same contract as nodeFetch
 * (node-fetch.ts): a Response with status, ok and text(); a failure is fetch's
 * TypeError('fetch failed') whose `cause` carries the code (ECONNREFUSED, ECONNRESET, HPE_...);
 * an abort rejects with the signal's reason (TimeoutError for AbortSignal.timeout).
 */
export function oneShotHttp(url: URL, init: OneShotInit): Promise<Response> {
  if (url.protocol !== 'http:') return Promise.reject(new TypeError(`oneShotHttp speaks http: only, not ${url.protocol}`));
  const { signal } = init;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  let head = `${init.method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\nconnection: close\r\n`;
  for (const [name, value] of Object.entries(init.headers)) {
    // A header that would split the request is a caller's bug, never something to send.
    if (/[\r\n]/.test(name + value)) return Promise.reject(new TypeError(`header ${name} holds a line break`));
    head += `${name}: ${value}\r\n`;
  }
  if (body) head += `content-length: ${body.length}\r\n`;
  head += '\r\n';

  return new Promise<Response>((resolve, reject) => {
    // URL keeps an IPv6 literal in brackets; a socket wants it bare.
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    // No Nagle delay, as node:http's client sets it: the whole request is one small write.
    const socket = connect({ host, port: Number(url.port || DEFAULT_HTTP_PORT), noDelay: true });
    const reader = new AnswerReader();
    let settled = false;
    const settle = (error: unknown, answer?: Answer) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (answer) resolve(responseOf(answer));
      else reject(error);
    };
    const onAbort = () => settle(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => settle(fetchFailed(error)));
    socket.on('data', (chunk: Buffer) => {
      try {
        const answer = reader.push(chunk);
        if (answer) settle(undefined, answer);
      } catch (error) {
        settle(fetchFailed(error as Error));
      }
    });
    socket.on('end', () => {
      try {
        settle(fetchFailed(hangUp()), reader.end());
      } catch (error) {
        settle(fetchFailed(error as Error));
      }
    });
    socket.on('close', () => settle(fetchFailed(hangUp())));
    socket.write(body ? Buffer.concat([Buffer.from(head), body]) : head);
  });
}

export interface OneShotInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

const DEFAULT_HTTP_PORT = 80;
/** As node:http's default --max-http-header-size: an answer whose head is longer is refused. */
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const STATUS_LINE = /^HTTP\/1\.[01] ([1-9]\d\d)(?: [^\r\n]*)?$/;
const FIELD_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

export interface Answer {
  status: number;
  body: Buffer;
}

/**
 * Reads one answer from the bytes as they arrive. push() returns the answer once it is whole
 * (or undefined: more to come); end() is called when the server closes its side, which is where
 * an answer without a length ends. Throws a parse error (an Error with an HPE_ code, as
 * node:http's parser names them) for what is not HTTP/1.1.
 */
export class AnswerReader {
  private buffered: Buffer = Buffer.alloc(0);
  private status: number | undefined;
  private framing: { kind: 'length'; length: number } | { kind: 'chunked'; at: number; body: Buffer[] } | { kind: 'close' } | undefined;

  push(chunk: Buffer): Answer | undefined {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.status === undefined) {
      const end = this.buffered.indexOf(HEAD_END);
      if (end < 0) {
        if (this.buffered.length > MAX_HEAD_BYTES) throw parseError('HPE_HEADER_OVERFLOW', 'Header overflow');
        return undefined;
      }
      if (end > MAX_HEAD_BYTES) throw parseError('HPE_HEADER_OVERFLOW', 'Header overflow');
      const head = this.buffered.subarray(0, end).toString('latin1');
      this.buffered = this.buffered.subarray(end + HEAD_END.length);
      this.readHead(head);
    }
    return this.bodyIfWhole();
  }

  end(): Answer | undefined {
    if (this.status !== undefined && this.framing?.kind === 'close') return { status: this.status, body: this.buffered };
    // Closed before the head, or before the length or the last chunk said the body was whole.
    return undefined;
  }

  private readHead(head: string): void {
    const [statusLine = '', ...fields] = head.split('\r\n');
    const match = STATUS_LINE.exec(statusLine);
    if (!match) throw parseError('HPE_INVALID_CONSTANT', 'Expected HTTP/');
    const status = Number(match[1]);
    let length: string | undefined;
    let transferEncoding: string | undefined;
    for (const field of fields) {
      const parsed = FIELD_LINE.exec(field);
      if (!parsed) throw parseError('HPE_INVALID_HEADER_TOKEN', 'Invalid header field');
      const name = (parsed[1] as string).toLowerCase();
      const value = parsed[2] as string;
      if (name === 'content-length') {
        if (!/^\d+$/.test(value) || (length !== undefined && length !== value)) throw parseError('HPE_INVALID_CONTENT_LENGTH', 'Invalid content-length');
        length = value;
      } else if (name === 'transfer-encoding') transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
    }
    // An interim answer (100 Continue, 103 Early Hints): the real one follows.
    if (status < 200 && status !== 101) return;
    if (status === 101) throw parseError('HPE_INVALID_CONSTANT', 'Unexpected protocol switch');
    this.status = status;
    if (status === 204 || status === 304) this.framing = { kind: 'length', length: 0 };
    else if (transferEncoding !== undefined) {
      // Both framings at once is how requests get smuggled: refused, as node:http refuses it.
      if (length !== undefined) throw parseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Content-Length can\'t be present with Transfer-Encoding');
      const codings = transferEncoding.toLowerCase().split(',').map((c) => c.trim());
      this.framing = codings.at(-1) === 'chunked' ? { kind: 'chunked', at: 0, body: [] } : { kind: 'close' };
    } else if (length !== undefined) this.framing = { kind: 'length', length: Number(length) };
    else this.framing = { kind: 'close' };
  }

  private bodyIfWhole(): Answer | undefined {
    const status = this.status as number;
    const framing = this.framing;
    if (framing?.kind === 'length') return this.buffered.length >= framing.length ? { status, body: this.buffered.subarray(0, framing.length) } : undefined;
    if (framing?.kind !== 'chunked') return undefined;
    // chunk = size [;extensions] CRLF data CRLF; the last is size 0, then trailer fields and CRLF.
    for (;;) {
      const lineEnd = this.buffered.indexOf(CRLF, framing.at);
      if (lineEnd < 0) return undefined;
      const sizeText = this.buffered.subarray(framing.at, lineEnd).toString('latin1').split(';')[0]!.trim();
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw parseError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size');
      const size = parseInt(sizeText, 16);
      if (size === 0) {
        const trailerEnd = this.buffered.indexOf(CRLF, lineEnd + CRLF.length);
        if (trailerEnd < 0) return undefined;
        // No trailer fields: CRLF right after the last chunk; otherwise they end with an empty line.
        if (trailerEnd !== lineEnd + CRLF.length && this.buffered.indexOf(HEAD_END, lineEnd) < 0) return undefined;
        return { status, body: Buffer.concat(framing.body) };
      }
      const dataStart = lineEnd + CRLF.length;
      if (this.buffered.length < dataStart + size + CRLF.length) return undefined;
      if (!this.buffered.subarray(dataStart + size, dataStart + size + CRLF.length).equals(CRLF)) throw parseError('HPE_STRICT', 'Expected CRLF after chunk');
      framing.body.push(this.buffered.subarray(dataStart, dataStart + size));
      framing.at = dataStart + size + CRLF.length;
    }
  }
}

function responseOf({ status, body }: Answer): Response {
  return { ok: status >= 200 && status < 300, status, text: async () => body.toString('utf8') } as Response;
}

function parseError(code: string, reason: string): Error {
  return Object.assign(new Error(`Parse Error: ${reason}`), { code });
}

/** As node:http says it when the connection ends before the answer is whole. */
function hangUp(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

function fetchFailed(error: Error): TypeError {
  return Object.assign(new TypeError('fetch failed'), { cause: error });
}
