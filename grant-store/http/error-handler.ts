import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toAppError, type ErrorCode } from '../../shared/errors';

/** Fastify's own error codes that are the client's fault, mapped to our codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_input',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_input',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_input',
};

/**
 * What an error thrown while serving a request says to the client: an AppError as is, Fastify's
 * own client errors (body too large, not JSON...) as ours, anything else `internal` with no
 * detail (the store log has it). Sent as `{ error: AppErrorBody }` with the matching status.
 */
export function httpErrorOf(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as FastifyError & { statusCode?: number };
  if (e?.code === 'FST_ERR_BAD_URL') {
    return new AppError('invalid_input', 'malformed URL: a percent-encoded path segment is not valid UTF-8', { fieldErrors: [{ path: 'url', message: 'percent-encoding does not decode to valid UTF-8' }] });
  }
  if (e && typeof e.code === 'string' && FASTIFY_CODES[e.code]) {
    const code = FASTIFY_CODES[e.code]!;
    const message = code === 'invalid_input' ? `malformed request body: ${e.message}` : e.message;
    return new AppError(code, message, code === 'invalid_input' ? { fieldErrors: [{ path: '', message: e.message }] } : {});
  }
  if (e instanceof SyntaxError || (e?.statusCode === 400 && /JSON/i.test(e.message ?? ''))) {
    return new AppError('invalid_input', `malformed JSON body: ${e.message}`, { fieldErrors: [{ path: '', message: `malformed JSON: ${e.message}` }] });
  }
  if (e?.statusCode === 413) return new AppError('payload_too_large', e.message);
  if (e?.statusCode === 415) return new AppError('unsupported_media_type', e.message);
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new AppError('invalid_input', e.message);
  return toAppError(error, () => 'internal error (see the store log)');
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = httpErrorOf(error);
    if (appError.code === 'internal') request.log.error({ err: error }, 'unhandled error');
    if (appError.retryAfterS !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(appError.retryAfterS))));
    void reply.status(appError.status).send({ error: appError.toBody() });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: new AppError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`).toBody() });
  });
}

/**
 * Once the store is closing, a request still arriving on an open keep-alive connection is answered
 * 503 in the documented envelope (Fastify's return503OnClosing would send its own body), before
 * authentication or any handler runs; Fastify already marks the response `Connection: close`.
 * Register before any other preClose hook, so no request slips through while they run.
 */
export function installClosingAnswer(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Callback style, not async: it runs on every request, and an async hook costs each one a
  // promise and a microtask round. Sending without calling done() ends the request here.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    void reply.status(503).send({ error: new AppError('unavailable', 'the store is shutting down; retry against another instance or once it is back').toBody() });
  });
}

/**
 * Errors Fastify's router raises before any route runs (a path whose percent-encoding is not
 * UTF-8): answered in the envelope like every other error. Passed as the `frameworkErrors` option.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const appError = httpErrorOf(error);
  void reply.status(appError.status).send({ error: appError.toBody() });
}

/** What Node's HTTP parser reported, as the status and envelope the client gets. */
export function clientErrorResponse(error: NodeJS.ErrnoException): { status: number; body: string } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, body: JSON.stringify({ error: new AppError('invalid_input', 'the request was not received in full in time (is the body shorter than its content-length?)').toBody() }) };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, body: JSON.stringify({ error: new AppError('invalid_input', 'request headers too large', { fieldErrors: [{ path: 'headers', message: 'too large' }] }).toBody() }) };
  }
  if (error.code === 'HPE_INVALID_EOF_STATE') {
    return { status: 400, body: JSON.stringify({ error: new AppError('invalid_input', 'the connection ended before the body its content-length announced', { fieldErrors: [{ path: 'content-length', message: 'longer than the body sent' }] }).toBody() }) };
  }
  const reason = (error as { reason?: string }).reason ?? error.message;
  return { status: 400, body: JSON.stringify({ error: new AppError('invalid_input', `malformed HTTP request: ${reason}`, { fieldErrors: [{ path: '', message: reason }] }).toBody() }) };
}

/**
 * Node's HTTP parser errors (a body shorter than its content-length, a malformed header...), which
 * never reach Fastify's error handler: the same envelope, written straight to the socket, which is
 * then closed (the parser cannot continue). Passed as the `clientErrorHandler` option.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, body } = clientErrorResponse(error);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
