import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { nodeFetch } from '../../../../shared/node/http/node-fetch';
import { AnswerReader, oneShotHttp, type Answer } from '../../../../shared/node/http/one-shot-http';

/** Raw answers a server may send, each with the status and body node:http reads from it. */
const WELL_FORMED: [string, string, number, string][] = [
  ['Content-Length', 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{"a":"é"}', 200, '{"a":"é"}'],
  ['a reason phrase with spaces, folded case, HTTP/1.0', 'HTTP/1.0 404 Not Found Here\r\nCONTENT-LENGTH:  3 \r\n\r\nnop', 404, 'nop'],
  ['chunked, with an extension and a trailer', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;x=y\r\n{"a"\r\nA\r\n:"bcdefgh"\r\n1\r\n}\r\n0\r\nx-t: 1\r\n\r\n', 200, '{"a":"bcdefgh"}'],
  ['chunked, no trailer', 'HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', 500, 'ok'],
  ['an interim 100 Continue first', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}', 201, '{}'],
  ['204, no body', 'HTTP/1.1 204 No Content\r\n\r\n', 204, ''],
  ['no length: the body runs to the end of the connection', 'HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\r\nbusy, try later', 503, 'busy, try later'],
];

/** Answers node:http refuses: the fast check must not read them either. */
const MALFORMED: [string, string, string][] = [
  ['not HTTP', 'SSH-2.0-OpenSSH_9.6\r\n\r\n', 'HPE_INVALID_CONSTANT'],
  ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbroken header\r\ncontent-length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ['two different lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc', 'HPE_INVALID_CONTENT_LENGTH'],
  ['a length that is not a number', 'HTTP/1.1 200 OK\r\ncontent-length: 2x\r\n\r\nab', 'HPE_INVALID_CONTENT_LENGTH'],
  ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
];

/** A TCP server that answers every request with `answer` once the request's head and body are in. */
async function rawServer(answer: string, options: { close?: boolean } = {}): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((socket) => {
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(got.slice(0, end))?.[1] ?? 0);
      if (got.length < end + 4 + length) return;
      requests.push(got);
      got = '';
      if (options.close === false) socket.write(Buffer.from(answer, 'utf8'));
      else socket.end(Buffer.from(answer, 'utf8'));
    });
    socket.on('error', () => {
      // The client hangs up once it has its answer (or gives up): nothing to report.
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

const POST = { method: 'POST', headers: { accept: 'application/json', authorization: 'Bearer t', 'content-type': 'application/json' }, body: '{"gate":"é"}' };

describe('oneShotHttp (the check fast path: one HTTP/1.1 request on a bare socket)', () => {
  let server: HttpServer;
  let base: string;
  before(async () => {
    server = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, auth: req.headers.authorization ?? null, type: req.headers['content-type'] ?? null, length: req.headers['content-length'] ?? null, body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test('a node:http server gets the same request as nodeFetch sends, and the answer reads the same', async () => {
    for (const path of ['/v1/checks?x=1', '/missing']) {
      const url = new URL(`${base}${path}`);
      const ours = await oneShotHttp(url, POST);
      const theirs = await nodeFetch(url, POST);
      assert.equal(ours.status, theirs.status, path);
      assert.equal(ours.ok, theirs.ok, path);
      assert.equal(await ours.text(), await theirs.text(), path);
    }
    const res = await oneShotHttp(new URL(`${base}/v1/checks`), POST);
    assert.deepEqual(JSON.parse(await res.text()), { method: 'POST', url: '/v1/checks', host: new URL(base).host, auth: 'Bearer t', type: 'application/json', length: String(Buffer.byteLength(POST.body)), body: POST.body });
  });

  test('every framing node:http reads (length, chunked, to the end, interim 1xx, 204) reads the same', async () => {
    for (const [what, answer, status, body] of WELL_FORMED) {
      const raw = await rawServer(answer);
      try {
        const ours = await oneShotHttp(new URL(`${raw.url}/v1/checks`), POST);
        const theirs = await nodeFetch(`${raw.url}/v1/checks`, POST);
        assert.deepEqual([ours.status, await ours.text()], [status, body], what);
        assert.deepEqual([theirs.status, await theirs.text()], [status, body], `${what} (node:http)`);
        assert.ok(raw.requests[0]?.startsWith('POST /v1/checks HTTP/1.1\r\n'), raw.requests[0]);
        assert.match(raw.requests[0] ?? '', /\r\nconnection: close\r\n/);
      } finally {
        await raw.close();
      }
    }
  });

  test('a whole answer is taken without waiting for the server to close the connection', async () => {
    const raw = await rawServer('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}', { close: false });
    try {
      const res = await oneShotHttp(new URL(raw.url), { method: 'GET', headers: {} });
      assert.equal(await res.text(), '{}');
    } finally {
      await raw.close();
    }
  });

  test('what node:http refuses is refused as fetch fails: TypeError with the parser code as cause', async () => {
    for (const [what, answer, code] of MALFORMED) {
      const raw = await rawServer(answer);
      try {
        await assert.rejects(oneShotHttp(new URL(raw.url), POST), (error: TypeError & { cause?: { code?: string } }) => error instanceof TypeError && error.message === 'fetch failed' && error.cause?.code === code, what);
        await assert.rejects(nodeFetch(raw.url, POST), TypeError, `${what} (node:http)`);
      } finally {
        await raw.close();
      }
    }
  });

  test('a connection closed before the answer is whole fails with ECONNRESET, as node:http says it', async () => {
    for (const answer of ['', 'HTTP/1.1 200 OK\r\ncontent-le', 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n']) {
      const raw = await rawServer(answer);
      try {
        await assert.rejects(oneShotHttp(new URL(raw.url), POST), (error: TypeError & { cause?: { code?: string } }) => error instanceof TypeError && error.cause?.code === 'ECONNRESET', JSON.stringify(answer));
        await assert.rejects(nodeFetch(raw.url, POST), (error: TypeError & { cause?: { code?: string } }) => error instanceof TypeError && error.cause?.code === 'ECONNRESET', `${JSON.stringify(answer)} (node:http)`);
      } finally {
        await raw.close();
      }
    }
  });

  test('a refused connection fails like fetch (ECONNREFUSED); the abort signal ends a call with its reason', async () => {
    const closed = await rawServer('');
    await closed.close();
    await assert.rejects(oneShotHttp(new URL(closed.url), POST), (error: TypeError & { cause?: { code?: string } }) => error instanceof TypeError && error.cause?.code === 'ECONNREFUSED');

    // A server that never answers: the call ends when the signal does.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const arrived = new Promise<void>((resolve) => silent.once('connection', () => resolve()));
    try {
      const controller = new AbortController();
      const call = oneShotHttp(new URL(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`), { ...POST, signal: controller.signal });
      await arrived;
      controller.abort(new DOMException('no answer', 'TimeoutError'));
      await assert.rejects(call, (error: Error) => error.name === 'TimeoutError');
      const aborted = AbortSignal.abort(new DOMException('gone', 'AbortError'));
      await assert.rejects(oneShotHttp(new URL(base), { ...POST, signal: aborted }), (error: Error) => error.name === 'AbortError');
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('refuses what it does not speak: https:, a header holding a line break', async () => {
    await assert.rejects(oneShotHttp(new URL('https://127.0.0.1/'), POST), /speaks http: only, not https:/);
    await assert.rejects(oneShotHttp(new URL(base), { ...POST, headers: { authorization: 'Bearer t\r\nx-evil: 1' } }), /header authorization holds a line break/);
  });
});

describe('AnswerReader (how the answer is framed, whichever way the bytes arrive)', () => {
  /** Feed `raw` split at every position (and byte by byte): the answer must not depend on it. */
  function readSplit(raw: string): (Answer | string)[] {
    const bytes = Buffer.from(raw, 'utf8');
    const results: (Answer | string)[] = [];
    const splits = [...Array.from({ length: bytes.length + 1 }, (_, i) => [i]), Array.from({ length: bytes.length }, (_, i) => i)];
    for (const cuts of splits) {
      const reader = new AnswerReader();
      let answer: Answer | undefined;
      try {
        let from = 0;
        for (const cut of [...cuts, bytes.length]) {
          answer ??= reader.push(bytes.subarray(from, cut));
          from = cut;
        }
        answer ??= reader.end();
        results.push(answer ?? 'incomplete');
      } catch (error) {
        results.push((error as { code: string }).code);
      }
    }
    return results;
  }

  test('every well-formed answer reads the same however it is split', () => {
    for (const [what, raw, status, body] of WELL_FORMED) {
      for (const result of readSplit(raw)) {
        assert.ok(typeof result !== 'string', `${what}: ${String(result)}`);
        assert.deepEqual([result.status, result.body.toString('utf8')], [status, body], what);
      }
    }
  });

  test('every malformed answer is refused however it is split, with node:http parser code', () => {
    for (const [what, raw, code] of MALFORMED) {
      for (const result of readSplit(raw)) assert.equal(result, code, what);
    }
  });

  test('a head longer than node:http allows (16 KiB) is refused, whole or arriving', () => {
    const long = `HTTP/1.1 200 OK\r\nx-long: ${'a'.repeat(17 * 1024)}\r\ncontent-length: 0\r\n\r\n`;
    assert.throws(() => new AnswerReader().push(Buffer.from(long)), { code: 'HPE_HEADER_OVERFLOW' });
    assert.throws(() => new AnswerReader().push(Buffer.from(long.slice(0, 17 * 1024))), { code: 'HPE_HEADER_OVERFLOW' });
  });
});
