import type { FastifyError, FastifyInstance } from 'fastify';
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
    void reply.status(appError.status).send({ error: appError.toBody() });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: new AppError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`).toBody() });
  });
}
