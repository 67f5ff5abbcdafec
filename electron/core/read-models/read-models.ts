import { AppError } from '../../../shared/errors';
import type { ChannelOutput, ParsedChannelInput } from '../../../shared/ipc/contract';
import { HealthReportSchema } from '../../../shared/domain/reports';
import { DEFAULT_PAGE_LIMIT } from '../../../shared/domain/page-cursor';
import type { ConsoleClock } from '../clock';
import { canApprove, canDecide, grantableTtls, type ApproverView } from '../decisions/decision-rules';
import type { ConnectionTracker } from '../session/connection-tracker';
import type { SessionService } from '../session/session-service';
import type { SettingsStore } from '../settings';
import { gateInfo } from './gate-info';
import type { OfflineFallback } from './offline-fallback';
import { checkedPageSize } from './page-size';
import { correctFromLedger } from './ledger-correction';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';

/** Requests per page of the Requests screen: the store's default page (GET /v1/requests). */
export const REQUEST_PAGE = DEFAULT_PAGE_LIMIT;

type RequestPage = ChannelOutput<'console:main:get-request'>;
/** What is kept for offline reading: the page as the store answered it. */
type RequestCopy = Omit<RequestPage, 'data'>;

export interface ReadModelsDeps {
  /** The ledger mirror's entries about a request (offline pages are corrected by the newer ones). */
  ledgerEntriesFor(requestId: string): readonly LedgerEntry[];
  session: SessionService;
  connection: ConnectionTracker;
  fallback: OfflineFallback;
  settings: SettingsStore;
  clock: ConsoleClock;
  /** Requests per page of list-requests (default REQUEST_PAGE). */
  requestPageSize?: number;
}

export function requestCacheKey(id: string): string {
  return `request:${id}`;
}

/**
 * What the console shows from the store: request lists (a page at a time), request pages (with history and what I
 * may do), active bypasses, gate health. Pages and health stay readable offline through the one
 * OfflineFallback; an offline page disables every action, saying why.
 */
export class ReadModels {
  private readonly requestPageSize: number;

  constructor(private readonly deps: ReadModelsDeps) {
    this.requestPageSize = checkedPageSize('requestPageSize', deps.requestPageSize ?? REQUEST_PAGE);
  }

  /** A page of requests (the first, or the one after `cursor`), from the store only: no copy is kept for offline reading. */
  async listRequests(input: ParsedChannelInput<'console:main:list-requests'>): Promise<ChannelOutput<'console:main:list-requests'>> {
    const { client } = this.deps.session.current();
    const page = await this.deps.connection.track(client.call('listRequests', { query: { ...input, limit: this.requestPageSize } }));
    return { requests: page.requests, nextCursor: page.nextCursor };
  }

  async listActive(): Promise<ChannelOutput<'console:main:list-active'>> {
    const { client } = this.deps.session.current();
    const requests = await this.deps.connection.track(client.call('listRequests', { query: { state: 'active', limit: 5000 } }).then((r) => r.requests));
    requests.sort((a, b) => (a.expiresAt ?? '').localeCompare(b.expiresAt ?? ''));
    return { requests, fetchedAt: this.deps.clock.now().toISOString() };
  }

  async getRequest(input: ParsedChannelInput<'console:main:get-request'>): Promise<RequestPage> {
    const { value, data } = await this.deps.fallback.read<RequestCopy>(
      requestCacheKey(input.id),
      () => this.fetchRequestPage(input.id),
      (error) => new AppError('store_unreachable', `${error.message}; this request was never opened while online, so there is no local copy`),
    );
    if (data.source === 'store') return { ...value, data };
    const offlineSince = this.deps.connection.current.offlineSince;
    const reason = `the store is unreachable${offlineSince ? ` (offline since ${offlineSince})` : ''}`;
    // The copy is as old as its last visit; the mirror may know what happened since.
    const corrected = correctFromLedger(value.request, this.deps.ledgerEntriesFor(input.id), data.asOf ?? value.request.createdAt, this.deps.clock.now());
    return {
      ...value,
      request: corrected.request,
      canApprove: { allowed: false, reason },
      canDecide: { allowed: false, reason },
      data: { source: 'mirror', asOf: corrected.asOf > (data.asOf ?? '') ? corrected.asOf : data.asOf },
    };
  }

  async getHealth(): Promise<ChannelOutput<'console:main:get-health'>> {
    const { client } = this.deps.session.current();
    const { value, data } = await this.deps.fallback.read('health', () => client.call('report', { params: { kind: 'health' } }).then((report) => HealthReportSchema.parse(report)));
    return { report: value, data };
  }

  private async fetchRequestPage(id: string): Promise<RequestCopy> {
    const { client, profile } = this.deps.session.current();
    const detail = await client.call('getRequest', { params: { id } });
    const { request } = detail;
    const history = await client.call('history', { query: { requester: request.requester, team: request.team, gate: request.gate } });
    const [policy, settings] = await Promise.all([this.deps.session.policyOrUndefined(), this.deps.settings.get()]);
    // An admin may have enrolled the key since the last look: ask before saying it is not.
    if (!this.deps.session.enrolledKey(profile)) await this.deps.session.refreshWhoamiOrKeep('request page');
    const view: ApproverView = { profile, whoami: this.deps.session.me, enrolledKey: this.deps.session.enrolledKey(profile) };
    return {
      request,
      gate: gateInfo(request, policy, settings),
      decisions: detail.decisions,
      approvers: detail.approvers,
      history,
      canApprove: canApprove(request, detail.approvers, policy, view),
      canDecide: canDecide(request, detail.approvers, policy, view),
      ttlChoices: grantableTtls(request, policy),
    };
  }
}
