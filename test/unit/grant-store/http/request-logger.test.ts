import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { createStoreLogger } from '../../../../grant-store/logger';
import { installErrorHandling } from '../../../../grant-store/http/error-handler';
import { requestLogging } from '../../../../grant-store/http/request-logger';

/** The store logger writing JSON lines into `lines`. */
function memoryLogger(level: 'warn' | 'info' = 'warn') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createStoreLogger({ level, destination }), lines };
}

describe('requestLogging', () => {
  test('without request lines: what a request logs reaches the store logger with its request id, and nothing else is logged', async () => {
    const { logger, lines } = memoryLogger();
    const app = Fastify(requestLogging(logger, false));
    installErrorHandling(app);
    app.get('/fails', () => {
      throw new Error('boom');
    });
    app.get('/ok', (request) => ({ logs: typeof request.log.error, level: request.log.level }));
    await app.ready();
    const { logger: infoLogger, lines: infoLines } = memoryLogger('info');
    const quiet = Fastify(requestLogging(infoLogger, false));
    quiet.get('/ok', () => ({ ok: true }));
    await quiet.inject({ method: 'GET', url: '/ok' });
    assert.deepEqual(infoLines, [], 'no request lines, even with the store logging at info');
    await quiet.close();
    const ok = await app.inject({ method: 'GET', url: '/ok' });
    assert.deepEqual(ok.json(), { logs: 'function', level: 'warn' });
    assert.equal(lines.length, 0, 'no request line, no line at all for a request that logs nothing');
    const failed = await app.inject({ method: 'GET', url: '/fails' });
    assert.equal(failed.statusCode, 500);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.msg, 'unhandled error');
    assert.equal(lines[0]!.level, 50);
    assert.match(String(lines[0]!.reqId), /^req-/);
    assert.match(JSON.stringify(lines[0]!.err), /boom/);
    await app.close();
  });

  test('with request lines (serve --log): Fastify logs each request through the store logger', async () => {
    const { logger, lines } = memoryLogger('info');
    const app = Fastify(requestLogging(logger, true));
    app.get('/ok', () => ({ ok: true }));
    await app.inject({ method: 'GET', url: '/ok' });
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['incoming request', 'request completed'],
    );
    assert.equal(lines[0]!.reqId, lines[1]!.reqId);
    await app.close();
  });
});
