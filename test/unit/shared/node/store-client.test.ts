import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../../../shared/errors';
import { StoreClient } from '../../../../shared/node/http/store-client';
import { nodeFetch } from '../../../../shared/node/http/node-fetch';
import { LEDGER_ROUTES } from '../../../../shared/http/ledger-routes';

/**
 * The one contract client against a real HTTP server on 127.0.0.1 whose answers each test sets:
 * paths and queries from the table, answers parsed with the route's schema, errors as AppErrors.
 */
describe('StoreClient (contract client)', () => {
  let server: Server;
  let url: string;
  let answer: (req: IncomingMessage, body: string, res: ServerResponse) => void = () => undefined;
  const seen: { method?: string; url?: string; auth?: string; body?: string }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        answer(req, body, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const json = (status: number, value: unknown) => (_req: IncomingMessage, _body: string, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };

  test('fills the path, sends query and body, parses the answer', async () => {
    seen.length = 0;
    answer = json(200, { token: { id: 'tok_1', principal: 'bob', roles: ['approver'], createdAt: '2026-01-01T00:00:00.000Z', expiresAt: null, revokedAt: null } });
    const client = new StoreClient({ baseUrl: `${url}/`, token: 'secret', timeoutMs: 2000 });
    const r = await client.call('revokeToken', { params: { id: 'tok_1/x' } });
    assert.equal(r.token.principal, 'bob');
    assert.deepEqual(seen[0], { method: 'DELETE', url: '/v1/admin/tokens/tok_1%2Fx', auth: 'Bearer secret', body: '' });

    answer = json(200, { requests: [], nextCursor: null });
    await client.call('listRequests', { query: { awaiting: 'me', limit: 5, gate: undefined } });
    assert.equal(seen[1]!.url, '/v1/requests?awaiting=me&limit=5');

    answer = json(200, { hash: 'h', loadedAt: 'now', changed: false });
    await client.call('reloadPolicy', { body: {} });
    assert.equal(seen[2]!.method, 'POST');
    assert.equal(seen[2]!.body, '{}');
  });

  test('callRouteInto: the answer read into the place given (nodeFetch), or new bytes (another fetch); errors as AppErrors', async () => {
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i & 0xff));
    answer = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) });
      res.end(bytes);
    };
    const place = new ArrayBuffer(8000);
    const into = (length: number) => new Uint8Array(place, 0, length);
    seen.length = 0;
    const viaNode = await new StoreClient({ baseUrl: url, token: 't', timeoutMs: 2000, fetchImpl: nodeFetch }).callRouteInto(LEDGER_ROUTES.entryBundles, { query: { start: 3, count: 2 } }, into);
    assert.equal(viaNode.buffer, place);
    assert.ok(Buffer.from(viaNode).equals(bytes));
    assert.equal(seen[0]!.url, '/v1/ledger/entry-bundles?start=3&count=2');
    const viaFetch = await new StoreClient({ baseUrl: url, token: 't', timeoutMs: 2000 }).callRouteInto(LEDGER_ROUTES.entryBundles, { query: { start: 3, count: 2 } }, into);
    assert.notEqual(viaFetch.buffer, place);
    assert.ok(Buffer.from(viaFetch).equals(bytes));
    answer = json(404, { error: { code: 'not_found', message: 'no route GET /v1/ledger/entry-bundles' } });
    await assert.rejects(new StoreClient({ baseUrl: url, token: 't', timeoutMs: 2000, fetchImpl: nodeFetch }).callRouteInto(LEDGER_ROUTES.entryBundles, { query: { start: 0, count: 1 } }, into), (e: unknown) => e instanceof AppError && e.code === 'not_found');
  });

  test('an answer that is not the contract is internal, naming the route and the field', async () => {
    answer = json(200, { principal: 'bob', roles: ['approver'], team: null, approverGroups: [] });
    const client = new StoreClient({ baseUrl: url, token: 't', timeoutMs: 2000 });
    await assert.rejects(client.call('whoami'), (e: unknown) => e instanceof AppError && e.code === 'internal' && /GET \/v1\/whoami does not match the API \(whoami\): keys/.test(e.message));
  });

  test("the store's error envelope comes back as that AppError; other failures say what happened", async () => {
    const client = new StoreClient({ baseUrl: url, token: 't', timeoutMs: 2000 });
    answer = json(409, { error: { code: 'illegal_transition', message: 'nope', currentState: 'active' } });
    await assert.rejects(client.call('getRequest', { params: { id: 'req_x' } }), (e: unknown) => e instanceof AppError && e.code === 'illegal_transition' && e.currentState === 'active');
    answer = (_q, _b, res) => {
      res.writeHead(502);
      res.end('bad gateway');
    };
    await assert.rejects(client.call('whoami'), (e: unknown) => e instanceof AppError && e.code === 'internal' && /HTTP 502: bad gateway/.test(e.message));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dead = new StoreClient({ baseUrl: `http://127.0.0.1:${port}`, token: 't', timeoutMs: 2000 });
    await assert.rejects(dead.call('whoami'), (e: unknown) => e instanceof AppError && e.code === 'store_unreachable' && e.message === `cannot reach the grant store at http://127.0.0.1:${port}: connection refused`);
  });

  test('an answer too large to read as one string says so (not "cannot reach the store")', async () => {
    const huge = Object.assign(new Error('Cannot create a string longer than 0x1fffffe8 characters'), { code: 'ERR_STRING_TOO_LONG' });
    const fetchImpl = (async () => ({ ok: true, status: 200, headers: new Headers(), text: () => Promise.reject(huge) })) as unknown as typeof fetch;
    const client = new StoreClient({ baseUrl: url, token: 't', timeoutMs: 2_000, fetchImpl });
    await assert.rejects(client.call('audit', { query: { format: 'json' } }), (error: AppError) => {
      assert.equal(error.code, 'internal');
      assert.match(error.message, /^the store's answer to GET \/v1\/audit is too large for this client to read at once \(Cannot create a string longer .*\): ask for it in pages$/);
      return true;
    });
  });

  test('a provided token is asked once; after a 401 a renewed one is tried once', async () => {
    seen.length = 0;
    let provided = 0;
    let renewed = 0;
    answer = (req, _body, res) => {
      if (req.headers.authorization === 'Bearer fresh') return json(200, { ok: true })(req, '', res);
      json(401, { error: { code: 'unauthenticated', message: 'expired' } })(req, '', res);
    };
    const client = new StoreClient({
      baseUrl: url,
      timeoutMs: 2000,
      tokenProvider: async () => (provided++, 'stale'),
      renewToken: async () => (renewed++, 'fresh'),
    });
    assert.deepEqual(await client.call('healthz'), { ok: true });
    assert.deepEqual(await client.call('healthz'), { ok: true });
    assert.equal(provided, 1);
    assert.equal(renewed, 1);
    assert.deepEqual(seen.map((s) => s.auth), ['Bearer stale', 'Bearer fresh', 'Bearer fresh']);
  });
});
