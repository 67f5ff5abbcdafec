import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import type { Role } from '../../../../shared/domain/common';
import { AppError } from '../../../../shared/errors';
import { installErrorHandling } from '../../../../grant-store/http/error-handler';
import { routeRegistrar } from '../../../../grant-store/http/register-route';

/**
 * registerRoute on a bare Fastify app: the caller is set by a stand-in for the auth hook (a
 * header naming the roles), so each step of the registrar is seen on its own.
 */
function app(validateResponses: boolean) {
  const fastify = Fastify();
  installErrorHandling(fastify);
  fastify.decorateRequest('breakglassCaller', null);
  fastify.addHook('onRequest', async (request) => {
    const roles = request.headers['x-roles'];
    if (typeof roles === 'string') request.breakglassCaller = { principal: 'tester', roles: roles.split(',') as Role[], sourceAddress: '127.0.0.1' };
  });
  return { fastify, route: routeRegistrar(fastify, { validateResponses }) };
}

describe('registerRoute', () => {
  test('an answer that does not match the contract is a 500 naming the route when validating', async () => {
    const { fastify, route } = app(true);
    route('healthz', () => ({ ok: false }) as never);
    const r = await fastify.inject({ method: 'GET', url: '/healthz' });
    assert.equal(r.statusCode, 500);
    assert.equal(r.json().error.code, 'internal');
    assert.match(r.json().error.message, /healthz does not match the contract/);
  });

  test('without validation (production) the answer is sent as is', async () => {
    const { fastify, route } = app(false);
    route('healthz', () => ({ ok: false }) as never);
    const r = await fastify.inject({ method: 'GET', url: '/healthz' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { ok: false });
  });

  test('order: token, then role, then params, query and body; the handler sees parsed input', async () => {
    const { fastify, route } = app(true);
    let seen: unknown;
    route('enrollKey', ({ params, body }) => {
      seen = { params, body };
      return { keyId: 'k', principal: params.principal, publicKeyPem: body.publicKeyPem, hardwareBacked: body.hardwareBacked, label: null, enrolledAt: '2026-01-01T00:00:00.000Z', revokedAt: null };
    });
    const pem = `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(60)}\n-----END PUBLIC KEY-----`;
    const call = (roles: string | undefined, url: string, payload: unknown) =>
      fastify.inject({ method: 'POST', url, payload: payload as object, headers: roles ? { 'x-roles': roles } : {} });

    assert.equal((await call(undefined, '/v1/admin/approvers/bob/keys', { bad: 1 })).statusCode, 401);
    const forbidden = await call('approver', '/v1/admin/approvers/!!/keys?x=1', { bad: 1 });
    assert.equal(forbidden.statusCode, 403, 'the role is checked before any input');
    const badPath = await call('admin', '/v1/admin/approvers/!!/keys?x=1', { bad: 1 });
    assert.equal(badPath.statusCode, 400);
    assert.deepEqual(badPath.json().error.fieldErrors.map((e: { path: string }) => e.path), ['principal']);
    const badQuery = await call('admin', '/v1/admin/approvers/bob/keys?x=1', { bad: 1 });
    assert.equal(badQuery.statusCode, 400);
    assert.deepEqual(badQuery.json().error.fieldErrors.map((e: { path: string }) => e.path), ['x'], 'a route without a query schema takes no query');
    const badBody = await call('admin', '/v1/admin/approvers/bob/keys', { publicKeyPem: pem, bad: 1 });
    assert.equal(badBody.statusCode, 400);
    assert.match(badBody.json().error.message, /^invalid key: /, "the error names the body as the contract's bodyName");
    assert.deepEqual(badBody.json().error.fieldErrors.map((e: { path: string }) => e.path), ['bad']);
    assert.equal(seen, undefined, 'the handler never ran on bad input');

    const ok = await call('admin', '/v1/admin/approvers/bob/keys', { publicKeyPem: pem });
    assert.equal(ok.statusCode, 201, "the contract's status");
    assert.deepEqual(seen, { params: { principal: 'bob' }, body: { publicKeyPem: pem, hardwareBacked: false } }, 'defaults applied');
  });

  test('a path param that fails its schema is a 404 where the contract says so', async () => {
    const { fastify, route } = app(true);
    route('report', () => ({ now: '2026-01-01T00:00:00.000Z', findings: [] }));
    const r = await fastify.inject({ method: 'GET', url: '/v1/reports/nope', headers: { 'x-roles': 'auditor' } });
    assert.equal(r.statusCode, 404);
    assert.match(r.json().error.message, /unknown report; one of: gates/);
    assert.equal((await fastify.inject({ method: 'GET', url: '/v1/reports/findings', headers: { 'x-roles': 'auditor' } })).statusCode, 200);
  });

  test('a synchronous answer is sent without a promise, a thrown error is the error envelope', async () => {
    const { fastify, route } = app(true);
    route('check', ({ body }) => {
      if (body.gate === 'boom') throw new Error('kaput');
      return { verdict: 'block', gate: body.gate, subject: body.subject, message: 'blocked', requestCommand: null, bypass: null, checkedAt: '2026-01-01T00:00:00.000Z' };
    });
    const ok = await fastify.inject({ method: 'POST', url: '/v1/checks', headers: { 'x-roles': 'gate' }, payload: { gate: 'ci-tests', subject: { repo: 'x' } } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().verdict, 'block');
    const boom = await fastify.inject({ method: 'POST', url: '/v1/checks', headers: { 'x-roles': 'gate' }, payload: { gate: 'boom', subject: { repo: 'x' } } });
    assert.equal(boom.statusCode, 500);
    assert.equal(boom.json().error.code, 'internal');
  });

  test('an error carrying retryAfterS (a shed warn) is 503 unavailable with Retry-After; others carry no Retry-After', async () => {
    const { fastify, route } = app(false);
    route('check', async ({ body }) => {
      if (body.gate === 'busy') throw new AppError('unavailable', 'the store is saturated', { retryAfterS: 1 });
      throw new AppError('unavailable', 'no keychain');
    });
    const busy = await fastify.inject({ method: 'POST', url: '/v1/checks', headers: { 'x-roles': 'gate' }, payload: { gate: 'busy', subject: { repo: 'x' } } });
    assert.equal(busy.statusCode, 503);
    assert.equal(busy.headers['retry-after'], '1');
    assert.deepEqual(busy.json(), { error: { code: 'unavailable', message: 'the store is saturated' } });
    const other = await fastify.inject({ method: 'POST', url: '/v1/checks', headers: { 'x-roles': 'gate' }, payload: { gate: 'other', subject: { repo: 'x' } } });
    assert.equal(other.statusCode, 503);
    assert.equal(other.headers['retry-after'], undefined);
  });
});
