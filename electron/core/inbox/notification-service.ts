import { join } from 'node:path';
import type { Policy } from '../../../shared/domain/policy';
import type { InboxItem, Settings } from '../../../shared/ipc/contract';
import type { ConsoleClock } from '../clock';
import { readTextIfExists, writeJsonAtomic } from '../files';
import type { ConsoleLogger } from '../logger';
import { NotifierRules, type ConsoleNotification, type WorkState } from '../notifier';

/** Only the newest ids are kept in notified.json (old requests are no longer pending). */
const NOTIFIED_IDS_KEPT = 5000;

/**
 * Native notifications for the inbox: the rules in notifier.ts, plus the set of requests already
 * notified, kept in notified.json so a restart never notifies twice.
 */
export class NotificationService {
  private rules = new NotifierRules();

  constructor(
    private readonly dataDir: string,
    private readonly notify: (notification: ConsoleNotification) => void,
    private readonly clock: ConsoleClock,
    private readonly logger: ConsoleLogger,
  ) {}

  private get path(): string {
    return join(this.dataDir, 'notified.json');
  }

  async load(): Promise<void> {
    const text = await readTextIfExists(this.path);
    let ids: string[] = [];
    try {
      ids = text ? (JSON.parse(text) as unknown[]).filter((v): v is string => typeof v === 'string') : [];
    } catch (error) {
      // Losing it may notify a still-pending request once more; that is the whole cost.
      this.logger.warn({ err: error, path: this.path }, 'notified.json unreadable, starting empty');
    }
    this.rules = new NotifierRules(ids);
  }

  /** Notify for what the rules let through among the inbox's items (new requests, SLA, replies). */
  async consider(items: readonly InboxItem[], context: { me: string; settings: Settings; policy: Policy | undefined }): Promise<void> {
    await this.considerWork({ inbox: items, active: [], reviews: [] }, context);
  }

  /** New requests and every follow-up (SLA, reply, expiring, review) for the state given; each fires once. */
  async considerWork(state: WorkState, context: { me: string; settings: Settings; policy: Policy | undefined }): Promise<void> {
    const before = this.rules.notifiedIds.length;
    const now = this.clock.now();
    for (const item of state.inbox) {
      const verdict = this.rules.decide(item.request, { ...context, now });
      if (verdict.notify) this.notify(verdict.notification);
    }
    for (const notification of this.rules.followUps(state, { ...context, now })) this.notify(notification);
    if (this.rules.notifiedIds.length !== before) await writeJsonAtomic(this.path, this.rules.notifiedIds.slice(-NOTIFIED_IDS_KEPT));
  }
}
