import type { Severity } from '../../../shared/domain/common';
import type { Policy } from '../../../shared/domain/policy';
import type { BypassRequest } from '../../../shared/domain/request';
import type { ChannelOutput, InboxItem, Settings } from '../../../shared/ipc/contract';
import { decisionDueAt } from '../../../shared/policy/sla';
import type { ConsoleClock } from '../clock';
import type { EventHub } from '../event-hub';
import type { ConsoleLogger } from '../logger';
import { gateInfo } from '../read-models/gate-info';
import type { OfflineFallback } from '../read-models/offline-fallback';
import { requestCacheKey, type ReadModels } from '../read-models/read-models';
import type { ConnectionTracker } from '../session/connection-tracker';
import type { SessionService } from '../session/session-service';
import type { SettingsStore } from '../settings';
import type { NotificationService } from './notification-service';

/** Request pages pre-cached for offline reading after each inbox refresh. */
export const PREFETCH_REQUESTS = 20;
/** A pre-cached request page younger than this (and newer than the request's last change) is kept. */
export const PREFETCH_FRESH_MS = 5 * 60_000;
/** Largest inbox listed at once (the store's page limit). */
const INBOX_LIMIT = 5000;

const SEVERITY_RANK: Record<Severity, number> = { sev1: 0, sev2: 1, sev3: 2, sev4: 3 };

export interface InboxServiceDeps {
  session: SessionService;
  connection: ConnectionTracker;
  settings: SettingsStore;
  notifications: NotificationService;
  readModels: ReadModels;
  fallback: OfflineFallback;
  events: EventHub;
  clock: ConsoleClock;
  logger: ConsoleLogger;
}

export function inboxItem(request: BypassRequest, policy: Policy | undefined, settings: Settings): InboxItem {
  return {
    request,
    gate: gateInfo(request, policy, settings),
    approvalsSoFar: request.approvals.length,
    slaDeadline: new Date(decisionDueAt(request)).toISOString(),
    incidentFlagged: request.incidentRef !== null,
  };
}

/**
 * Requests waiting for my decision: the list, its refresh (notifications, the tray, the renderer's
 * inbox-changed event) and the pages pre-cached for offline reading.
 */
export class InboxService {
  private last: InboxItem[] = [];
  private prefetching: Promise<void> | undefined;
  private halted = false;

  constructor(private readonly deps: InboxServiceDeps) {}

  /** The inbox as of the last refresh (tray menu). */
  get items(): InboxItem[] {
    return this.last;
  }

  async list(): Promise<ChannelOutput<'console:main:list-inbox'>> {
    const { client } = this.deps.session.current();
    const [requests, policy, settings] = await Promise.all([
      this.deps.connection.track(client.call('listRequests', { query: { awaiting: 'me', limit: INBOX_LIMIT } }).then((r) => r.requests)),
      this.deps.session.policyOrUndefined(),
      this.deps.settings.get(),
    ]);
    const items = requests
      .filter((r) => r.state === 'pending' || r.state === 'needs_info')
      .map((request) => inboxItem(request, policy, settings))
      .sort((a, b) => SEVERITY_RANK[a.request.severity] - SEVERITY_RANK[b.request.severity] || a.request.createdAt.localeCompare(b.request.createdAt));
    this.last = items;
    return { items, fetchedAt: this.deps.clock.now().toISOString() };
  }

  /** Refresh now: list, notify for new requests, tell the renderer and the tray, pre-cache pages. */
  async refresh(): Promise<InboxItem[]> {
    const { items } = await this.list();
    const [settings, policy] = await Promise.all([this.deps.settings.get(), this.deps.session.policyOrUndefined()]);
    const me = this.deps.session.active?.profile.principal ?? '';
    await this.deps.notifications.consider(items, { me, settings, policy });
    this.deps.events.emit('console:renderer:inbox-changed', { count: items.length });
    if (!this.prefetching && !this.halted) {
      this.prefetching = this.prefetch(items.slice(0, PREFETCH_REQUESTS)).finally(() => (this.prefetching = undefined));
    }
    return items;
  }

  /**
   * The follow-ups that depend on time as much as on events (SLA running out, a bypass I approved
   * ending soon, a review opened on one I decided): active bypasses and open reviews are read, the
   * inbox is the last refresh's. Run on a fixed tick (compose-console.ts).
   */
  async followUp(): Promise<void> {
    const active = this.deps.session.active;
    if (!active || !this.deps.connection.current.online) return;
    const [requests, reviews, settings, policy] = await Promise.all([
      this.deps.connection.track(active.client.call('listRequests', { query: { state: 'active', limit: 5000 } }).then((r) => r.requests)),
      this.deps.connection.track(active.client.call('listReviews', { query: { state: 'review_open' } }).then((r) => r.reviews)),
      this.deps.settings.get(),
      this.deps.session.policyOrUndefined(),
    ]);
    await this.deps.notifications.considerWork({ inbox: this.last, active: requests, reviews }, { me: active.profile.principal, settings, policy });
  }

  /** Stop background pre-caching and wait for the pass under way (sign-out, shutdown). */
  async halt(): Promise<void> {
    this.halted = true;
    await this.prefetching;
  }

  /** Allow pre-caching again (a new session). */
  resume(): void {
    this.halted = false;
  }

  /** Signed out: nothing is waiting for anyone. */
  reset(): void {
    this.last = [];
    this.deps.events.emit('console:renderer:inbox-changed', { count: 0 });
  }

  /**
   * Cache request pages (with history) so they stay readable offline. One pass at a time, and a
   * page cached recently is not fetched again, so a burst of new requests does not flood the store.
   */
  private async prefetch(items: InboxItem[]): Promise<void> {
    for (const item of items) {
      if (this.halted || !this.deps.session.active || !this.deps.connection.current.online) return;
      const copiedAt = await this.deps.fallback.copiedAt(requestCacheKey(item.request.id));
      const now = this.deps.clock.now().getTime();
      if (copiedAt !== undefined && now - copiedAt < PREFETCH_FRESH_MS && copiedAt >= Date.parse(item.request.updatedAt)) continue;
      try {
        await this.deps.readModels.getRequest({ id: item.request.id });
      } catch (error) {
        // Best effort: the page is fetched again when opened; the connection state shows an outage.
        this.deps.logger.debug({ err: error, requestId: item.request.id }, 'request page not pre-cached');
      }
    }
  }
}
