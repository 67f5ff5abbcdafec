import { z } from 'zod';
import { AppError, ErrorResponseSchema, fieldErrorsFromZod } from '../../shared/errors';
import { HistorySchema, RequestDetailSchema, type History, type ListRequestsQuery, type RequestDetail } from '../../shared/domain/api';
import { BypassRequestSchema, type BypassRequest } from '../../shared/domain/request';
import { DecisionRecordSchema, type SigstoreBundleJson } from '../../shared/domain/decision';
import { WhoAmISchema, type WhoAmI } from '../../shared/domain/identity';
import { PolicySchema, type Policy } from '../../shared/domain/policy';
import { ReviewSchema, type Review, type ReviewCompleteInput } from '../../shared/domain/review';
import { LedgerEntrySchema, type LedgerEntry } from '../../shared/domain/ledger-entry';

/** A call that takes longer than this is treated as "store unreachable" (the UI goes offline). */
export const STORE_CALL_TIMEOUT_MS = 10_000;

const PolicyResponseSchema = z.looseObject({ policy: PolicySchema, hash: z.string(), loadedAt: z.string() });
const RequestsResponseSchema = z.looseObject({ requests: z.array(BypassRequestSchema) });
const DecisionResponseSchema = z.looseObject({ request: BypassRequestSchema, decision: DecisionRecordSchema });
const ReviewsResponseSchema = z.looseObject({ reviews: z.array(ReviewSchema) });
const LedgerEntriesResponseSchema = z.looseObject({ entries: z.array(LedgerEntrySchema), treeSize: z.number().int().nonnegative() });

export interface StoreClientOptions {
  /** Base URL of the grant store, e.g. http://127.0.0.1:7410. */
  storeUrl: string;
  /** Bearer token; read from the keychain by the caller, never logged. */
  token: string;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

/**
 * Typed HTTP client of the grant store (routes in shared/domain/api.ts). Every response is parsed
 * with the shared schemas; failures become AppErrors: the store's own error body when it sent one,
 * `store_unreachable` when it could not be reached or timed out.
 */
export class StoreClient {
  readonly storeUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: StoreClientOptions) {
    this.storeUrl = options.storeUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? STORE_CALL_TIMEOUT_MS;
    this.fetchImpl = options.fetchImpl ?? fetch;
  }

  whoami(): Promise<WhoAmI> {
    return this.get('/v1/whoami', WhoAmISchema);
  }

  policy(): Promise<{ policy: Policy; hash: string; loadedAt: string }> {
    return this.get('/v1/policy', PolicyResponseSchema);
  }

  async listRequests(query: Partial<ListRequestsQuery>): Promise<BypassRequest[]> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const suffix = params.size > 0 ? `?${params}` : '';
    return (await this.get(`/v1/requests${suffix}`, RequestsResponseSchema)).requests;
  }

  getRequest(id: string): Promise<RequestDetail> {
    return this.get(`/v1/requests/${encodeURIComponent(id)}`, RequestDetailSchema);
  }

  sendDecision(id: string, bundle: SigstoreBundleJson): Promise<z.infer<typeof DecisionResponseSchema>> {
    return this.call('POST', `/v1/requests/${encodeURIComponent(id)}/decisions`, DecisionResponseSchema, { bundle });
  }

  async listReviews(state?: string): Promise<Review[]> {
    const suffix = state ? `?state=${encodeURIComponent(state)}` : '';
    return (await this.get(`/v1/reviews${suffix}`, ReviewsResponseSchema)).reviews;
  }

  completeReview(id: string, input: ReviewCompleteInput): Promise<Review> {
    return this.call('POST', `/v1/reviews/${encodeURIComponent(id)}/complete`, ReviewSchema, input);
  }

  history(query: { requester?: string; team?: string; gate?: string }): Promise<History> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
    return this.get(`/v1/history?${params}`, HistorySchema);
  }

  ledgerEntries(from: number, limit: number): Promise<{ entries: LedgerEntry[]; treeSize: number }> {
    return this.get(`/v1/ledger/entries?from=${from}&limit=${limit}`, LedgerEntriesResponseSchema);
  }

  /** Raw GET for routes owned by other parts (ledger proofs/checkpoints); parsed by the caller's schema. */
  get<T extends z.ZodType>(path: string, schema: T): Promise<z.infer<T>> {
    return this.call('GET', path, schema);
  }

  async call<T extends z.ZodType>(method: string, path: string, schema: T, body?: unknown): Promise<z.infer<T>> {
    const url = `${this.storeUrl}${path}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw unreachable(this.storeUrl, error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw unreachable(this.storeUrl, error);
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const parsed = ErrorResponseSchema.safeParse(json);
      if (parsed.success) throw AppError.fromBody(parsed.data.error);
      throw new AppError(response.status >= 500 ? 'internal' : 'invalid_input', `the grant store answered ${method} ${path} with HTTP ${response.status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new AppError('internal', `the grant store's answer to ${method} ${path} does not match the API: ${fieldErrorsFromZod(parsed.error).map((f) => `${f.path}: ${f.message}`).join('; ')}`);
    }
    return parsed.data;
  }
}

function unreachable(storeUrl: string, error: unknown): AppError {
  const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
  const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
  return new AppError('store_unreachable', `the grant store at ${storeUrl} ${timedOut ? 'did not answer in time' : `cannot be reached (${cause})`}`);
}
