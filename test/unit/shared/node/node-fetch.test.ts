import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { nodeFetch } from '../../../../shared/node/http/node-fetch';

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
});
