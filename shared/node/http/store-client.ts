import type { z } from 'zod';
import { AppError, ErrorResponseSchema, fieldErrorsFromZod } from '../../errors';
import type { RouteName, RouteResponse, Routes } from '../../http/contract';
import { fillPath, type RouteDef } from '../../http/route-def';
import { bodyOf, type NodeFetchInit } from './node-fetch';

/** What a call sends: path params and body where the route has them (required), a query where it takes one. */
export type CallInput<N extends RouteName> = (Routes[N] extends { params: z.ZodType } ? { params: z.input<Routes[N]['params']> } : { params?: undefined }) &
  (Routes[N] extends { query: z.ZodType } ? { query?: Partial<z.input<Routes[N]['query']>> } : { query?: undefined }) &
  (Routes[N] extends { body: z.ZodType } ? { body: z.input<Routes[N]['body']> } : { body?: undefined });
/** What a call sends, untyped (callRoute's input; call() types it per route). */
type RouteInput = { params?: Record<string, string | number>; query?: Record<string, unknown>; body?: unknown };
type CallArgs<N extends RouteName> = Routes[N] extends { params: z.ZodType } | { body: z.ZodType } ? [input: CallInput<N>] : [input?: CallInput<N>];

export interface StoreClientOptions {
  /** Base URL of the grant store, e.g. http://127.0.0.1:7410. */
  baseUrl: string;
  /** Bearer token (a store token, a sign-in session, or a CI job's ID token for workload routes). */
  token?: string;
  /** Where the token comes from when `token` is not given (e.g. a saved sign-in session): asked once, at the first call. */
  tokenProvider?: () => Promise<string | undefined>;
  /**
   * A fresh provided token after the store refused one with 401 (the session expired or was
   * ended by the store's clock, not ours): the call is retried once with it.
   */
  renewToken?: () => Promise<string | undefined>;
  /** A call that takes longer is `store_unreachable`. */
  timeoutMs: number;
  fetchImpl?: typeof fetch;
}

/** Longest piece of a non-JSON error body worth showing to a person. */
const MAX_RAW_BODY_CHARS = 300;

/**
 * THE client of the grant store's HTTP API, generated from the contract table
 * (shared/http/contract.ts): `call('getRequest', { params: { id } })` fills the path, sends the
 * query and the JSON body typed by the route's schemas, and parses the answer with the route's
 * response schema. Every failure is an AppError: the store's own `{ error }` body as is, a dead or
 * slow store as `store_unreachable` naming the URL and why, an answer that is not the contract's
 * as `internal` naming the route and the field. Used by the CLI and the console.
 */
export class StoreClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly tokenProvider: (() => Promise<string | undefined>) | undefined;
  private readonly renewToken: (() => Promise<string | undefined>) | undefined;
  private readonly fetchImpl: typeof fetch;
  private renewed = false;
  private provided: Promise<string | undefined> | undefined;

  constructor(options: StoreClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.tokenProvider = options.tokenProvider;
    this.renewToken = options.renewToken;
    this.timeoutMs = options.timeoutMs;
    this.fetchImpl = options.fetchImpl ?? fetch;
  }

  /** Resolve the bearer now (the saved session, renewed if needed), so a missing sign-in is reported before any call. */
  async prepare(): Promise<void> {
    await this.bearer();
  }

  /** Call a route of the contract by name; the answer is parsed with the route's response schema. */
  async call<N extends RouteName>(name: N, ...[input]: CallArgs<N>): Promise<RouteResponse<N>> {
    // The whole table (every route's schemas) is loaded at the first call, not with the client:
    // `breakglass check` calls its route through callRoute and never loads it.
    const { ROUTES } = await import('../../http/contract');
    return this.callRoute(name, ROUTES[name] as RouteDef, input as RouteInput) as Promise<RouteResponse<N>>;
  }

  /**
   * Call one route given its definition from the contract (e.g. CHECK_ROUTES.check from
   * shared/http/check-routes.ts, which ROUTES includes): the same sending and parsing as call().
   */
  async callRoute<D extends RouteDef>(name: string, def: D, input?: RouteInput): Promise<D extends { response: z.ZodType } ? z.output<D['response']> : never> {
    if (!def.response) throw notJson(name, def);
    const { json, describe } = await this.send(def, input ?? {});
    return routeAnswer(name, def, describe, json) as D extends { response: z.ZodType } ? z.output<D['response']> : never;
  }

  /**
   * Call a JSON route and get its answer's bytes unparsed (a successful answer only; failures are
   * the same AppErrors as call()'s). The caller must parse them with the route's response schema:
   * the ledger verifier does that in a worker thread, next to the entries' checks.
   */
  async callBytes<N extends RouteName>(name: N, ...[input]: CallArgs<N>): Promise<ArrayBuffer> {
    const { ROUTES } = await import('../../http/contract');
    return this.callRouteBytes(ROUTES[name] as RouteDef, input as RouteInput);
  }

  /** callBytes() given the route's definition (e.g. LEDGER_ROUTES.ledgerExport), as callRoute() is to call(). */
  async callRouteBytes(def: RouteDef, input?: RouteInput): Promise<ArrayBuffer> {
    const { bytes } = await this.send(def, input ?? {}, true);
    return bytes!;
  }

  /**
   * callRouteBytes() whose answer may be read into a place the caller gives and reuses (`into`,
   * asked with the answer's length; with nodeFetch as the fetch): a large answer then costs no new
   * buffer each time, which V8 counts as memory outside its heap and collects with full garbage
   * collections once it has outlived a young one. With another fetch the bytes are a new buffer.
   */
  async callRouteInto(def: RouteDef, input: RouteInput, into: (length: number) => Uint8Array | undefined): Promise<Uint8Array> {
    const { bytes, body } = await this.send(def, input, true, into);
    return body ?? new Uint8Array(bytes!);
  }

  private bearer(): Promise<string | undefined> {
    if (this.token !== undefined || !this.tokenProvider) return Promise.resolve(this.token);
    this.provided ??= this.tokenProvider();
    return this.provided;
  }

  private async send(def: RouteDef, input: { params?: Record<string, string | number>; query?: Record<string, unknown>; body?: unknown }, raw = false, into?: NodeFetchInit['into']): Promise<{ json: unknown; describe: string; bytes?: ArrayBuffer; body?: Uint8Array }> {
    try {
      return await this.sendOnce(def, input, raw, into);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'unauthenticated' || this.token !== undefined || !this.renewToken || this.renewed) throw error;
      this.renewed = true;
      const renewToken = this.renewToken;
      this.provided = renewToken().then((token) => {
        if (!token) throw error;
        return token;
      });
      return this.sendOnce(def, input, raw, into);
    }
  }

  private async sendOnce(def: RouteDef, input: { params?: Record<string, string | number>; query?: Record<string, unknown>; body?: unknown }, raw = false, into?: NodeFetchInit['into']): Promise<{ json: unknown; describe: string; bytes?: ArrayBuffer; body?: Uint8Array }> {
    const path = fillPath(def.path, input.params);
    const describe = `${def.method} ${path}`;
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(input.query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = await this.bearer();
    if (token) headers.authorization = `Bearer ${token}`;
    // Routes with a body always send one (`{}` when every field is optional).
    const body = def.body ? JSON.stringify(input.body ?? {}) : undefined;
    if (body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    try {
      const init: NodeFetchInit = { method: def.method, headers, body, signal: AbortSignal.timeout(this.timeoutMs), ...(into ? { into } : {}) };
      response = await this.fetchImpl(url, init);
    } catch (error) {
      throw unreachable(this.baseUrl, error, this.timeoutMs);
    }
    if (raw && response.ok) {
      try {
        const placed = into ? bodyOf(response) : undefined;
        if (placed) return { json: undefined, describe, body: placed };
        return { json: undefined, describe, bytes: await response.arrayBuffer() };
      } catch (error) {
        throw tooLarge(describe, error) ?? unreachable(this.baseUrl, error, this.timeoutMs);
      }
    }
    return { json: await answerJson(this.baseUrl, this.timeoutMs, describe, response), describe };
  }
}

/**
 * A route's HTTP answer as JSON: an error answer (non-2xx) is thrown as the store's own AppError,
 * or one naming the status and the raw text; a body that cannot be read is `store_unreachable`.
 * StoreClient's, and `breakglass check`'s fast path hands its answers here when they are not plainly fine.
 */
export async function answerJson(baseUrl: string, timeoutMs: number, describe: string, response: Response): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw tooLarge(describe, error) ?? unreachable(baseUrl, error, timeoutMs);
  }
  const json = parseJson(text);
  if (response.ok) {
    if (json === undefined) throw new AppError('internal', `the store answered ${describe} with something that is not JSON`);
    return json;
  }
  const parsed = ErrorResponseSchema.safeParse(json);
  if (parsed.success) throw AppError.fromBody(parsed.data.error);
  const raw = text.length > MAX_RAW_BODY_CHARS ? `${text.slice(0, MAX_RAW_BODY_CHARS)}…` : text;
  throw new AppError(response.status === 404 ? 'not_found' : 'internal', `the store answered ${describe} with HTTP ${response.status}: ${raw || '(empty body)'}`);
}

/** A route's JSON answer parsed with its response schema; one that is not the contract's is `internal`, naming the route and the field. */
export function routeAnswer(name: string, def: RouteDef, describe: string, json: unknown): unknown {
  if (!def.response) throw notJson(name, def);
  const parsed = def.response.safeParse(json);
  if (!parsed.success) {
    throw new AppError('internal', `the grant store's answer to ${describe} does not match the API (${name}): ${fieldErrorsFromZod(parsed.error).map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ')}`);
  }
  return parsed.data;
}

function notJson(name: string, def: RouteDef): AppError {
  return new AppError('internal', `route ${name} answers ${Object.keys(def.content ?? {}).join(' or ')}, not JSON`);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: the caller reports the status and the raw text instead.
    return undefined;
  }
}

/** Say exactly why the store could not be reached: refused, unknown host, TLS, timeout. */
/**
 * An answer too large to hold as one string (V8's limit, ~512 M characters) was read: the store
 * answered, so this is not "cannot reach" but a read to make in pages.
 */
function tooLarge(describe: string, error: unknown): AppError | undefined {
  if (!(error instanceof RangeError) && (error as { code?: string })?.code !== 'ERR_STRING_TOO_LONG') return undefined;
  return new AppError('internal', `the store's answer to ${describe} is too large for this client to read at once (${(error as Error).message}): ask for it in pages`);
}

export function unreachable(baseUrl: string, error: unknown, timeoutMs: number): AppError {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  let why: string;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') why = `no answer within ${timeoutMs} ms`;
  else if (err?.cause?.code === 'ECONNREFUSED') why = 'connection refused';
  else if (err?.cause?.code === 'ENOTFOUND') why = 'unknown host';
  else if (err?.cause?.code) why = `${err.cause.code}${err.cause.message ? ` (${err.cause.message})` : ''}`;
  else why = err?.cause?.message ?? err?.message ?? String(error);
  return new AppError('store_unreachable', `cannot reach the grant store at ${baseUrl}: ${why}`);
}
