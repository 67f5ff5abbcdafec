import type { z } from 'zod';
import { parseOrThrow } from '../../shared/errors';

/** Parse a JSON body; an absent body counts as `{}` for routes whose fields are all optional. */
export function body<T extends z.ZodType>(schema: T, raw: unknown, what = 'body'): z.infer<T> {
  return parseOrThrow(schema, raw === undefined || raw === null ? {} : raw, what);
}

/** Parse a query string object (Fastify gives strings; schemas coerce numbers). */
export function query<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
  return parseOrThrow(schema, { ...(raw as object) }, 'query');
}
