import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { bodyOf, nodeFetch } from '../../../../shared/node/http/node-fetch';

describe('nodeFetch (the CLI transport: fetch semantics over node:http)', () => {
  let server: Server;
  let base: string;
  const hang: (() => void)[] = [];
  let arrived: () => void = () => {};
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') {
        hang.push(() => res.end());
        arrived();
        return;
      }
      if (req.url?.startsWith('/bytes/')) {
        // 300 KB in several writes (several chunks), with its length; or the same chunked (no length).
        const n = 300_000;
        const bytes = Buffer.alloc(n);
        for (let i = 0; i < n; i++) bytes[i] = (i * 7 + 3) & 0xff;
        res.writeHead(200, req.url === '/bytes/chunked' ? {} : { 'content-length': String(n) });
        for (let at = 0; at < n; at += 50_000) res.write(bytes.subarray(at, at + 50_000));
        res.end();
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization ?? null, type: req.headers['content-type'] ?? null, length: req.headers['content-length'] ?? null, body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const end of hang) end();
    await new Promise((resolve) => server.close(resolve));
  });

  test('sends method, headers and a string body; answers status, ok and text', async () => {
    const body = JSON.stringify({ gate: 'ci', subject: { repo: 'é' } });
    const res = await nodeFetch(`${base}/v1/checks`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body });
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    assert.deepEqual(JSON.parse(await res.text()), { method: 'POST', auth: 'Bearer t', type: 'application/json', length: String(Buffer.byteLength(body)), body });
    const missing = await nodeFetch(new URL(`${base}/missing`));
    assert.equal(missing.status, 404);
    assert.equal(missing.ok, false);
  });

  test('a refused connection fails like fetch: TypeError with the system code as its cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(nodeFetch(`http://127.0.0.1:${port}/`), (error: TypeError & { cause?: { code?: string } }) => error instanceof TypeError && error.cause?.code === 'ECONNREFUSED');
  });

  test('the abort signal ends a call that gets no answer, with the signal reason (a timeout: TimeoutError)', async () => {
    const controller = new AbortController();
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const call = nodeFetch(`${base}/hang`, { signal: controller.signal });
    await reached;
    controller.abort(new DOMException('no answer', 'TimeoutError'));
    await assert.rejects(call, (error: Error) => error.name === 'TimeoutError');
  });

  test('`into` gives a successful answer of known length a place (reused by the caller): the bytes land there, and arrayBuffer() is the same bytes', async () => {
    const expected = Buffer.alloc(300_000);
    for (let i = 0; i < expected.length; i++) expected[i] = (i * 7 + 3) & 0xff;
    const place = new ArrayBuffer(400_000);
    const asked: number[] = [];
    const into = (length: number) => (asked.push(length), new Uint8Array(place, 0, length));
    const res = await nodeFetch(`${base}/bytes/sized`, { into });
    assert.deepEqual(asked, [300_000]);
    const body = bodyOf(res)!;
    assert.equal(body.buffer, place, 'read into the place given');
    assert.ok(Buffer.from(body).equals(expected));
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(expected));
    // No length (chunked), an error answer, or no place given: new bytes, as before.
    const chunked = await nodeFetch(`${base}/bytes/chunked`, { into });
    assert.equal(bodyOf(chunked), undefined);
    assert.ok(Buffer.from(await chunked.arrayBuffer()).equals(expected));
    const missing = await nodeFetch(`${base}/missing`, { into });
    assert.equal(bodyOf(missing), undefined);
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(await missing.text()) as { method: string }).method, 'GET');
    assert.deepEqual(asked, [300_000], 'only a successful answer of known length is asked a place');
    const declined = await nodeFetch(`${base}/bytes/sized`, { into: () => undefined });
    assert.equal(bodyOf(declined), undefined);
    assert.ok(Buffer.from(await declined.arrayBuffer()).equals(expected));
    // A place shorter than the answer: what fits is placed, the rest read as new bytes, and the
    // body is exactly the bytes sent (none of the place's unwritten bytes).
    for (const size of [10, 120_000]) {
      const short = await nodeFetch(`${base}/bytes/sized`, { into: () => new Uint8Array(size) });
      assert.equal(bodyOf(short), undefined);
      assert.ok(Buffer.from(await short.arrayBuffer()).equals(expected), `a place of ${size} bytes`);
    }
  });
});
