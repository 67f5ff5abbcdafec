import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ErrorResponseSchema } from '../../../shared/errors';
import { startStoreFixture, type CallOptions, type CallResult, type StoreFixture } from '../../support/grant-store-fixture';
import { ROUTES, type RouteDef } from '../../../shared/http/contract';
import { NoQuerySchema } from '../../../shared/http/params';
import { ENDPOINTS, UNKNOWN_IDS, type Endpoint } from './endpoints';
import { encodePageCursor } from '../../../shared/domain/page-cursor';

const TABLE = Object.entries(ROUTES as Record<string, RouteDef>);
/** Candidate path parameter values; each route's schema picks the first it accepts. */
const PARAM_SAMPLES = ['req_0000000000000000000000dead', 'rev_0000000000000000000000dead', 'tok_0000000000000000000000dead', `emc_${'0'.repeat(26)}`, 'f'.repeat(64), 'health', 'bob', '5', 'ci-tests', 'page-0000.js'];

/**
 * Every endpoint against malformed JSON, wrong types, unknown fields, oversize and non-JSON
 * bodies, bad query strings, unknown and malformed ids and wrong roles: the right 4xx with field
 * paths, and nothing written (the ledger size is unchanged after each call).
 */
describe('HTTP bad input, every endpoint', () => {
  let f: StoreFixture;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  before(async () => {
    f = await startStoreFixture();
    tokens.admin = f.adminToken;
    tokens.requester = await f.token('alice', ['requester']);
    tokens.gate = await f.token('ci', ['gate']);
    tokens.auditor = await f.token('audrey', ['auditor']);
    const bob = await f.approver('bob');
    tokens.approver = bob.token;
    const pending = await f.call('POST', '/v1/requests', {
      token: tokens.requester,
      body: { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: 'flaky suite blocks a hotfix for INC-7', severity: 'sev3', ttl: '1h' },
    });
    assert.equal(pending.status, 201, pending.text);
    ids.req = pending.json.request.id;
    // A standing-scope bypass (active on filing), revoked by bob: opens a review.
    const standing = await f.call('POST', '/v1/requests', {
      token: tokens.requester,
      body: { gate: 'perf-suite', scope: { repo: 'payments-api', branch: 'release' }, reason: 'release ships before the nightly perf run ends', severity: 'sev4', ttl: '24h' },
    });
    assert.equal(standing.json.request.state, 'active', standing.text);
    const revoke = await f.call('POST', `/v1/requests/${standing.json.request.id}/decisions`, { token: bob.token, body: { bundle: await f.sign(standing.json.request, 'bob', bob.signer, 'revoke', { comment: 'release shipped, closing it' }) } });
    assert.equal(revoke.status, 200, revoke.text);
    const reviews = await f.call('GET', '/v1/reviews', { token: tokens.approver });
    ids.rev = reviews.json.reviews[0].id;
    const list = await f.call('GET', '/v1/admin/tokens', { token: f.adminToken });
    ids.tok = list.json.tokens.find((t: { principal: string }) => t.principal === 'audrey').id;
    ids.principal = 'bob';
    const keys = await f.call('GET', '/v1/admin/approvers/bob/keys', { token: f.adminToken });
    ids.key = keys.json.keys[0].keyId;
  });
  after(() => f?.close());

  const fill = (path: string, values: Record<string, string>) => path.replace(/:(req|rev|tok|principal|key|gate)\b/g, (_, name: string) => values[name] ?? (name === 'gate' ? UNKNOWN_IDS.gate : ''));
  const tokenFor = (e: Endpoint) => (e.role === 'any' ? tokens.requester! : tokens[e.role]!);

  async function unchanged(fn: () => Promise<CallResult>): Promise<CallResult> {
    const before = await f.ledgerSize();
    const result = await fn();
    assert.equal(await f.ledgerSize(), before, `the ledger grew after ${result.status} ${result.text}`);
    return result;
  }
  function assertError(r: CallResult, status: number, code: string, path?: string) {
    assert.equal(r.status, status, r.text);
    assert.equal(r.json?.error?.code, code, r.text);
    if (path !== undefined) {
      const paths = (r.json.error.fieldErrors ?? []).map((e: { path: string }) => e.path);
      assert.ok(paths.includes(path), `expected field path "${path}" in ${JSON.stringify(paths)}`);
    }
  }

  for (const e of ENDPOINTS) {
    const name = `${e.method} ${e.path}`;
    describe(name, () => {
      if (e.forbiddenRole) {
        test(`role ${e.forbiddenRole} → 403`, async () => {
          const r = await unchanged(() => f.call(e.method, fill(e.path, ids), { token: tokens[e.forbiddenRole!], ...(e.body ? { body: e.wrongTypes?.value ?? {} } : {}) }));
          assertError(r, 403, 'forbidden');
        });
      }
      if (e.body) {
        test('malformed JSON → 400', async () => {
          assertError(await unchanged(() => f.call(e.method, fill(e.path, ids), { token: tokenFor(e), rawBody: '{"gate": "ci-tests",' })), 400, 'invalid_input', '');
        });
        test('wrong types → 400 naming the field', async () => {
          assertError(await unchanged(() => f.call(e.method, fill(e.path, ids), { token: tokenFor(e), body: e.wrongTypes!.value })), 400, 'invalid_input', e.wrongTypes!.path);
        });
        test('unknown field → 400 naming it', async () => {
          const base = typeof e.wrongTypes?.value === 'object' ? (e.wrongTypes.value as object) : {};
          assertError(await unchanged(() => f.call(e.method, fill(e.path, ids), { token: tokenFor(e), body: { ...base, sneaky: true } })), 400, 'invalid_input', 'sneaky');
        });
        test('a JSON array instead of an object → 400', async () => {
          assertError(await unchanged(() => f.call(e.method, fill(e.path, ids), { token: tokenFor(e), body: [1, 2] })), 400, 'invalid_input', '');
        });
        test('oversize body (300 KiB) → 413', async () => {
          const big = JSON.stringify({ pad: 'x'.repeat(300 * 1024) });
          assertError(await unchanged(() => f.call(e.method, fill(e.path, ids), { token: tokenFor(e), rawBody: big })), 413, 'payload_too_large');
        });
        test('not JSON (text/plain) → 415', async () => {
          assertError(await unchanged(() => f.call(e.method, fill(e.path, ids), { token: tokenFor(e), rawBody: 'gate=ci-tests', contentType: 'text/plain' })), 415, 'unsupported_media_type');
        });
      }
      if (e.badQuery) {
        test(`bad query (${e.badQuery.query}) → 400 naming the field`, async () => {
          assertError(await unchanged(() => f.call(e.method, `${fill(e.path, ids)}?${e.badQuery!.query}`, { token: tokenFor(e) })), 400, 'invalid_input', e.badQuery!.path);
        });
      }
      const idNames = [...e.path.matchAll(/:(req|rev|tok|key)\b/g)].map((m) => m[1]!);
      for (const idName of idNames) {
        test(`unknown ${idName} id → 404`, async () => {
          const r = await unchanged(() => f.call(e.method, fill(e.path, { ...ids, [idName]: UNKNOWN_IDS[idName as keyof typeof UNKNOWN_IDS] }), { token: tokenFor(e), ...(e.body ? { body: validBodyFor(e) } : {}) }));
          assertError(r, 404, 'not_found');
        });
        test(`malformed ${idName} id → 400`, async () => {
          const r = await unchanged(() => f.call(e.method, fill(e.path, { ...ids, [idName]: 'nope' }), { token: tokenFor(e), ...(e.body ? { body: validBodyFor(e) } : {}) }));
          assertError(r, 400, 'invalid_input', idName === 'key' ? 'keyId' : 'id');
        });
      }
      if (e.path.includes(':principal')) {
        test('malformed principal → 400', async () => {
          const r = await unchanged(() => f.call(e.method, fill(e.path, { ...ids, principal: '!!bad' }), { token: tokenFor(e), ...(e.body ? { body: validBodyFor(e) } : {}) }));
          assertError(r, 400, 'invalid_input');
        });
      }
    });
  }

  /** Bodies that pass validation, so the unknown-id tests reach the lookup. */
  function validBodyFor(e: Endpoint): unknown {
    if (e.path.endsWith('/reply')) return { message: 'here is the context you asked for' };
    if (e.path.endsWith('/cancel')) return {};
    if (e.path.endsWith('/complete')) return { finding: 'justified', note: 'the incident needed it, gate was fine' };
    if (e.path.endsWith('/decisions')) return { bundle: { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: {}, dsseEnvelope: { payload: '', payloadType: 'x', signatures: [{ sig: '' }] } } };
    return {};
  }

  test('unknown route → 404 JSON error', async () => {
    assertError(await unchanged(() => f.call('GET', '/v1/nope', { token: tokens.admin })), 404, 'not_found');
  });
  /** One request written by hand on a raw socket (half-closed after `text`); the whole answer. */
  function rawExchange(text: string): Promise<string> {
    const url = new URL(f.url);
    return new Promise((resolve, reject) => {
      const socket = connect({ port: Number(url.port), host: '127.0.0.1', allowHalfOpen: true }, () => socket.end(text));
      let out = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (out += chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
      socket.on('close', () => resolve(out));
      socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(text.slice(0, 60))}`)));
    });
  }
  function parseRaw(answer: string): { status: number; body: unknown } {
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1]);
    const at = answer.indexOf('\r\n\r\n');
    assert.ok(at > 0, `no HTTP answer: ${JSON.stringify(answer)}`);
    return { status, body: JSON.parse(answer.slice(at + 4)) };
  }
  test('router and HTTP parser errors answer in the error envelope (raw sockets)', async () => {
    const auth = `Authorization: Bearer ${tokens.admin}\r\n`;
    const cases: { name: string; text: string; field: string }[] = [
      { name: 'bad percent-encoding in the path', text: `GET /v1/requests/%ff%fe HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Connection: close\r\n\r\n`, field: 'url' },
      { name: 'bad percent-encoding, no token', text: 'GET /v1/requests/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', field: 'url' },
      { name: 'body shorter than its content-length', text: `POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"gate":"ci-tests"}`, field: 'content-length' },
      { name: 'malformed header line', text: 'GET /v1/whoami HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n', field: '' },
    ];
    for (const c of cases) {
      const size = await f.ledgerSize();
      const { status, body } = parseRaw(await rawExchange(c.text));
      assert.equal(status, 400, c.name);
      const parsed = ErrorResponseSchema.safeParse(body);
      assert.ok(parsed.success, `${c.name}: ${JSON.stringify(body)}`);
      assert.equal(parsed.data.error.code, 'invalid_input', c.name);
      assert.deepEqual(parsed.data.error.fieldErrors?.map((e) => e.path), [c.field], c.name);
      assert.equal(await f.ledgerSize(), size, `${c.name}: nothing written`);
    }
    // The store still serves after each closed connection.
    assert.equal((await f.call('GET', '/v1/whoami', { token: tokens.admin })).status, 200);
  });
  test('review reads follow the README role table: a requester-only token 403, approver, auditor and admin 200', async () => {
    for (const path of ['/v1/reviews', `/v1/reviews/${ids.rev}`]) {
      assertError(await unchanged(() => f.call('GET', path, { token: tokens.requester })), 403, 'forbidden');
      for (const role of ['approver', 'auditor', 'admin'] as const) {
        const r = await f.call('GET', path, { token: tokens[role] });
        assert.equal(r.status, 200, `${role} ${path}: ${r.text}`);
        const ids_ = path === '/v1/reviews' ? r.json.reviews.map((v: { id: string }) => v.id) : [r.json.id];
        assert.ok(ids_.includes(ids.rev), `${role} ${path} should show ${ids.rev}: ${r.text}`);
      }
    }
  });
  test('paged lists: a malformed cursor, or one of the other list, is a 400 naming cursor; a cursor past the end is an empty last page', async () => {
    const first = await f.call('GET', '/v1/requests?limit=1', { token: tokens.admin });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.requests.length, 1);
    const requestsCursor = first.json.nextCursor as string;
    assert.equal(typeof requestsCursor, 'string', 'the fixture has two requests: a next page');
    const cases: Array<[string, string, RegExp]> = [
      ['/v1/requests', 'not!base64', /^must be the nextCursor of an earlier page of requests: it is not base64url text$/],
      ['/v1/requests', 'x'.repeat(200), /it is longer than any cursor/],
      ['/v1/requests', 'bm90IGEgY3Vyc29y', /it was not written by this store/],
      ['/v1/reviews', requestsCursor, /^must be the nextCursor of an earlier page of reviews: it is a cursor of requests$/],
      ['/v1/reviews', '', /it is empty/],
    ];
    for (const [path, cursor, message] of cases) {
      const r = await unchanged(() => f.call('GET', `${path}?cursor=${encodeURIComponent(cursor)}`, { token: tokens.admin }));
      assertError(r, 400, 'invalid_input', 'cursor');
      assert.match(r.json.error.fieldErrors[0].message, message, r.text);
    }
    const pastEnd = (list: 'requests' | 'reviews') => encodePageCursor(list, { at: '2000-01-01T00:00:00.000Z', id: `${list === 'requests' ? 'req' : 'rev'}_0000000000000000` });
    const requests = await f.call('GET', `/v1/requests?cursor=${pastEnd('requests')}`, { token: tokens.admin });
    assert.deepEqual([requests.status, requests.json], [200, { requests: [], nextCursor: null }]);
    const reviews = await f.call('GET', `/v1/reviews?limit=2&cursor=${pastEnd('reviews')}`, { token: tokens.approver });
    assert.deepEqual([reviews.status, reviews.json], [200, { reviews: [], nextCursor: null }]);
    const second = await f.call('GET', `/v1/requests?limit=1&cursor=${requestsCursor}`, { token: tokens.admin });
    assert.equal(second.json.requests.length, 1);
    assert.notEqual(second.json.requests[0].id, first.json.requests[0].id);
  });
  test('/healthz needs no token', async () => {
    const r = await f.call('GET', '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { ok: true });
  });
  test('every hand-written case names a route of the contract table', () => {
    const routes = new Set(TABLE.map(([, r]) => `${r.method} ${r.path.replace(/:\w+/g, ':x')}`));
    for (const e of ENDPOINTS) assert.ok(routes.has(`${e.method} ${e.path.replace(/:\w+/g, ':x')}`), `${e.method} ${e.path} (endpoints.ts) is not a route of shared/http/contract.ts`);
  });

  /**
   * Every route of the contract table (shared/http/contract.ts), so a route is covered the day it
   * is added: no token, a role it does not allow, malformed path parameters, an unknown query
   * parameter, and every kind of bad JSON body, each the documented 4xx with nothing written.
   */
  describe('every route of the contract table', () => {
    const ROLES = ['requester', 'approver', 'gate', 'admin', 'auditor'] as const;
    const token = (r: RouteDef) => (r.roles === 'public' ? undefined : r.roles === 'authenticated' ? tokens.requester : tokens[r.roles[0]!]);
    /** Path parameters that pass the route's schema (unknown ids: the body is parsed before any lookup). */
    const validParams = (r: RouteDef): Record<string, string> => {
      const shape = (r.params as unknown as { shape?: Record<string, { safeParse(v: unknown): { success: boolean } }> } | undefined)?.shape ?? {};
      return Object.fromEntries(Object.entries(shape).map(([key, schema]) => [key, PARAM_SAMPLES.find((v) => schema.safeParse(v).success) ?? 'x']));
    };
    const pathOf = (r: RouteDef, params: Record<string, string>) => r.path.replace(/:(\w+)/g, (_, k: string) => encodeURIComponent(params[k] ?? 'x'));

    for (const [name, r] of TABLE) {
      // A CI job's ID token authenticates workload routes: the sign-in suite sends them bad input.
      if (r.bearer === 'workload') continue;
      describe(`${name}: ${r.method} ${r.path}`, () => {
        if (r.roles !== 'public') {
          test('no token → 401', async () => {
            assertError(await unchanged(() => f.call(r.method, pathOf(r, validParams(r)), r.body ? { body: {} } : {})), 401, 'unauthenticated');
          });
        }
        const refused = Array.isArray(r.roles) ? ROLES.find((role) => !(r.roles as readonly string[]).includes(role)) : undefined;
        if (refused) {
          test(`role ${refused} → 403`, async () => {
            assertError(await unchanged(() => f.call(r.method, pathOf(r, validParams(r)), { token: tokens[refused], ...(r.body ? { body: {} } : {}) })), 403, 'forbidden');
          });
        }
        for (const key of Object.keys(validParams(r))) {
          test(`malformed path parameter ${key} → ${r.badParamsNotFound ? 404 : 400}`, async () => {
            const res = await unchanged(() => f.call(r.method, pathOf(r, { ...validParams(r), [key]: '!!bad value' }), { token: token(r), ...(r.body ? { body: {} } : {}) }));
            if (r.badParamsNotFound) assertError(res, 404, 'not_found');
            else assertError(res, 400, 'invalid_input', key);
          });
        }
        const querySchema = r.query ?? NoQuerySchema;
        if (!querySchema.safeParse({ sneaky: '1' }).success) {
          test('unknown query parameter → 400 naming it', async () => {
            assertError(await unchanged(() => f.call(r.method, `${pathOf(r, validParams(r))}?sneaky=1`, { token: token(r), ...(r.body ? { body: {} } : {}) })), 400, 'invalid_input', 'sneaky');
          });
        }
        if (r.body && !r.rawBody) {
          const call = (o: CallOptions) => unchanged(() => f.call(r.method, pathOf(r, validParams(r)), { token: token(r), ...o }));
          test('malformed JSON → 400', async () => assertError(await call({ rawBody: '{"gate": "ci-tests",' }), 400, 'invalid_input', ''));
          test('a JSON array → 400', async () => assertError(await call({ body: [1, 2] }), 400, 'invalid_input', ''));
          test('unknown field → 400 naming it', async () => assertError(await call({ body: { sneaky: true } }), 400, 'invalid_input', 'sneaky'));
          test('oversize body → 413', async () => assertError(await call({ rawBody: JSON.stringify({ pad: 'x'.repeat(300 * 1024) }) }), 413, 'payload_too_large'));
          test('not JSON (text/plain) → 415', async () => assertError(await call({ rawBody: 'a=b', contentType: 'text/plain' }), 415, 'unsupported_media_type'));
        }
      });
    }
  });
});

