import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { openApiPath, ROUTES, type RouteDef } from '../../../shared/http/contract';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';

const TABLE = Object.entries(ROUTES as Record<string, RouteDef>);

/**
 * The contract table (shared/http/contract.ts) against the running store: Fastify serves exactly
 * the table's routes, /openapi.json is a valid OpenAPI 3.1 document describing every route, role
 * and error shape, and routes answer with what the table says.
 */
describe('HTTP contract', () => {
  let f: StoreFixture;
  before(async () => {
    f = await startStoreFixture();
  });
  after(() => f?.close());

  test('Fastify serves every route of the table and no other', () => {
    const served = new Set(f.store.routes);
    const listed = new Set(TABLE.map(([, r]) => `${r.method} ${r.path}`));
    const missing = [...listed].filter((r) => !served.has(r));
    const extra = [...served].filter((r) => !listed.has(r));
    assert.deepEqual(missing, [], `in the contract table but not served: ${missing.join(', ')}`);
    assert.deepEqual(extra, [], `served but not in the contract table (add them to shared/http/contract.ts): ${extra.join(', ')}`);
    assert.equal(served.size, f.store.routes.length, 'a route is registered twice');
  });

  test('the table is well formed: unique method+path, params match the path, bodies only on POST', () => {
    const seen = new Set<string>();
    for (const [name, r] of TABLE) {
      const key = `${r.method} ${r.path}`;
      assert.ok(!seen.has(key), `${name}: ${key} is listed twice`);
      seen.add(key);
      const names = [...r.path.matchAll(/:(\w+)/g)].map((m) => m[1]!).sort();
      const declared = r.params ? Object.keys((r.params as unknown as { shape: Record<string, unknown> }).shape).sort() : [];
      assert.deepEqual(declared, names, `${name}: params schema must name exactly the path's :params`);
      if (r.body) assert.equal(r.method, 'POST', `${name}: only POST routes take a body`);
      assert.ok(r.response || r.content, `${name}: declares neither a JSON response nor a content type`);
      assert.ok(r.summary.length > 0 && !r.summary.includes('\n'), `${name}: one-line summary`);
    }
  });

  test('GET /openapi.json is a valid OpenAPI 3.1 document of every route, role and error', async () => {
    const r = await f.call('GET', '/openapi.json');
    assert.equal(r.status, 200, r.text);
    const doc = r.json;
    assert.equal(doc.openapi, '3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc);
    assert.ok(result.valid, `invalid OpenAPI: ${JSON.stringify(result.errors, null, 2)?.slice(0, 3000)}`);
    assert.equal(validator.version, '3.1');
    assert.ok(doc.components.schemas.ErrorResponse, 'the error envelope is a named schema');
    assert.ok(doc.components.securitySchemes.bearer, 'bearer auth is described');
    for (const [name, route] of TABLE) {
      const op = doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
      assert.ok(op, `${name}: ${route.method} ${route.path} is missing from /openapi.json`);
      assert.equal(op.operationId, name);
      assert.equal(op.summary, route.summary);
      const roles = op['x-breakglass-roles'] as string[];
      if (route.roles === 'public') {
        assert.deepEqual(roles, []);
        assert.equal(op.security, undefined, `${name} is public`);
      } else {
        assert.deepEqual(roles, route.roles === 'authenticated' ? ['*'] : [...route.roles]);
        assert.deepEqual(op.security, [{ [route.bearer === 'workload' ? 'workload' : 'bearer']: [] }]);
        assert.ok(op.responses['401'] && op.responses['403'], `${name}: 401 and 403 described`);
      }
      assert.ok(op.responses['400'], `${name}: 400 described`);
      assert.equal(op.responses['400'].content['application/json'].schema.$ref, '#/components/schemas/ErrorResponse');
      const ok = op.responses[String(route.status ?? 200)];
      assert.ok(ok, `${name}: success status described`);
      if (route.response) assert.ok(ok.content['application/json'], `${name}: JSON answer described`);
      for (const type of Object.keys(route.content ?? {})) assert.ok(ok.content[type], `${name}: ${type} answer described`);
      if (route.body) assert.ok(op.requestBody?.content['application/json'], `${name}: body described`);
      const paramNames = (op.parameters ?? []).filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name).sort();
      assert.deepEqual(paramNames, [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!).sort(), `${name}: path parameters`);
    }
  });

  test('every pattern in /openapi.json is a plain ECMA-262 pattern a client can run as written (no flags)', async () => {
    const doc = (await f.call('GET', '/openapi.json')).json;
    const patterns: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'pattern' && typeof value === 'string') patterns.push(value);
          else walk(value);
        }
      }
    };
    walk(doc);
    assert.ok(patterns.length > 10, `patterns found: ${patterns.length}`);
    for (const pattern of patterns) {
      assert.doesNotThrow(() => new RegExp(pattern, 'u'), `not a valid pattern: ${pattern}`);
      assert.doesNotMatch(pattern, /\/[dgimsuy]+$/, `a JavaScript flag leaked into ${pattern}`);
    }
    // A principal's name allows capitals, as the store's own check does.
    const requester = doc.paths['/v1/requests'].get.parameters.find((p: { name: string }) => p.name === 'requester');
    assert.match('Alice.Smith@corp', new RegExp(requester.schema.pattern, 'u'));
  });
});
