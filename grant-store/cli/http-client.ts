import { AppError, ErrorResponseSchema } from '../../shared/errors';

export type QueryValue = string | number | boolean | undefined;

export interface StoreClientOptions {
  /** Base URL of the grant store, e.g. http://127.0.0.1:7410. */
  baseUrl: string;
  token?: string;
  /** Where the token comes from when `token` is not given (the saved sign-in session), asked once, at the first call. */
  tokenProvider?: () => Promise<string | undefined>;
  /**
   * A fresh provided token after the store refused one with 401 (the session expired or was
   * ended by the store's clock, not ours): the call is retried once with it.
   */
  renewToken?: () => Promise<string | undefined>;
  timeoutMs: number;
}

/** Longest piece of a non-JSON error body worth showing to a person. */
const MAX_RAW_BODY_CHARS = 300;

/**
 * A thin fetch wrapper for the grant store's HTTP API (shared/domain/api.ts). Every failure
 * becomes an AppError: the store's own `{ error }` body as is, a dead or slow store as
 * `store_unreachable` naming the URL and what happened.
 */
export class StoreClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly tokenProvider: (() => Promise<string | undefined>) | undefined;
  private readonly renewToken: (() => Promise<string | undefined>) | undefined;
  private renewed = false;
  private provided: Promise<string | undefined> | undefined;

  constructor(options: StoreClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.tokenProvider = options.tokenProvider;
    this.renewToken = options.renewToken;
    this.timeoutMs = options.timeoutMs;
  }

  private bearer(): Promise<string | undefined> {
    if (this.token !== undefined || !this.tokenProvider) return Promise.resolve(this.token);
    this.provided ??= this.tokenProvider();
    return this.provided;
  }

  /** Resolve the bearer now (the saved session, renewed if needed), so a missing sign-in is reported before any call. */
  async prepare(): Promise<void> {
    await this.bearer();
  }

  get<T>(path: string, query?: Record<string, QueryValue>): Promise<T> {
    return this.send<T>('GET', path, undefined, query);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.send<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.send<T>('DELETE', path);
  }

  private async send<T>(method: string, path: string, body?: unknown, query?: Record<string, QueryValue>): Promise<T> {
    try {
      return await this.sendOnce<T>(method, path, body, query);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'unauthenticated' || this.token !== undefined || !this.renewToken || this.renewed) throw error;
      this.renewed = true;
      const renewToken = this.renewToken;
      this.provided = renewToken().then((token) => {
        if (!token) throw error;
        return token;
      });
      return this.sendOnce<T>(method, path, body, query);
    }
  }

  private async sendOnce<T>(method: string, path: string, body?: unknown, query?: Record<string, QueryValue>): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = await this.bearer();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw unreachable(this.baseUrl, error, this.timeoutMs);
    }

    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw unreachable(this.baseUrl, error, this.timeoutMs);
    }
    const json = parseJson(text);
    if (response.ok) {
      if (json === undefined) throw new AppError('internal', `the store answered ${method} ${path} with something that is not JSON`);
      return json as T;
    }
    const parsed = ErrorResponseSchema.safeParse(json);
    if (parsed.success) throw AppError.fromBody(parsed.data.error);
    const raw = text.length > MAX_RAW_BODY_CHARS ? `${text.slice(0, MAX_RAW_BODY_CHARS)}…` : text;
    throw new AppError(response.status === 404 ? 'not_found' : 'internal', `the store answered ${method} ${path} with HTTP ${response.status}: ${raw || '(empty body)'}`);
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Say exactly why the store could not be reached: refused, unknown host, TLS, timeout. */
function unreachable(baseUrl: string, error: unknown, timeoutMs: number): AppError {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  let why: string;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') why = `no answer within ${timeoutMs} ms`;
  else if (err?.cause?.code === 'ECONNREFUSED') why = 'connection refused';
  else if (err?.cause?.code === 'ENOTFOUND') why = 'unknown host';
  else if (err?.cause?.code) why = `${err.cause.code}${err.cause.message ? ` (${err.cause.message})` : ''}`;
  else why = err?.cause?.message ?? err?.message ?? String(error);
  return new AppError('store_unreachable', `cannot reach the grant store at ${baseUrl}: ${why}`);
}
