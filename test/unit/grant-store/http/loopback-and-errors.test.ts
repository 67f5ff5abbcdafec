import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../../shared/errors';
import { httpErrorOf as toAppError } from '../../../../grant-store/http/error-handler';
import { isLoopbackHost } from '../../../../grant-store/http/loopback';

describe('loopback hosts', () => {
  test('loopback names and addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
  });
  test('anything else needs TLS', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.10', 'example.com', '127.0.0.1.nip.io', '::ffff:10.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
  });
});

describe('error mapping', () => {
  test('AppErrors pass through', () => {
    const e = new AppError('illegal_transition', 'no', { currentState: 'active' });
    assert.equal(toAppError(e), e);
  });
  test('Fastify client errors map to our codes', () => {
    const mk = (code: string, statusCode: number) => Object.assign(new Error(code), { code, statusCode });
    assert.equal(toAppError(mk('FST_ERR_CTP_BODY_TOO_LARGE', 413)).status, 413);
    assert.equal(toAppError(mk('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).code, 'unsupported_media_type');
    assert.equal(toAppError(mk('FST_ERR_CTP_EMPTY_JSON_BODY', 400)).code, 'invalid_input');
    assert.equal(toAppError(new SyntaxError('Unexpected end of JSON input')).code, 'invalid_input');
  });
  test('anything unexpected is a 500 that hides the details', () => {
    const e = toAppError(new Error('SQLITE_CORRUPT: database disk image is malformed at /secret/path'));
    assert.equal(e.code, 'internal');
    assert.doesNotMatch(e.message, /secret/);
  });
});
