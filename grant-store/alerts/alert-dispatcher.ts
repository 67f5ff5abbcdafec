import { randomBytes } from 'node:crypto';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { Policy } from '../../shared/domain/policy';
import type { Finding } from '../../shared/domain/reports';
import type { NewLedgerEntry, Store, StoreTx } from '../storage/store';
import { ALERTING_ENTRY_TYPES, type AlertEvent, alertEventForFinding, alertEventsForEntry, isCriticalAlert, overBudgetEvent } from './alert-events';
import { teamBudgetStanding } from '../service/budget-usage';
import type { BypassRequest } from '../../shared/domain/request';
import {
  CURSOR_META_KEY,
  DEFAULT_RETRY_POLICY,
  lockOutbox,
  type OutboxItem,
  type RetryPolicy,
  SEEN_FINDINGS_KEEP,
  SEEN_FINDINGS_META_KEY,
  readCursor,
  readOutbox,
  readSeenFindings,
  retryDelayMs,
  writeOutbox,
} from './outbox';
import { renderWebhookBody } from './webhook-payload';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './webhook-signature';
import type { SecretLookup } from '../store-config';

/** A receiver gets this long to answer one delivery. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Ledger entries turned into events per transaction (keeps each transaction short). */
const INGEST_BATCH = 500;
/** Deliveries attempted per pass. */
const DELIVERY_BATCH = 16;
/**
 * How long a claimed delivery is this instance's to send: the receiver's timeout plus room for
 * the claim and record transactions. After it, another instance may send it again (same id).
 */
export const DELIVERY_LEASE_MS = WEBHOOK_TIMEOUT_MS + 20_000;
/**
 * Ledger appends are coalesced into one pass per this interval: a gate under load records an
 * evaluation per check, and each must not cost the store another write transaction. An
 * activation still goes out well within a second.
 */
export const KICK_COALESCE_MS = 100;
/** How often the deviance findings are recomputed when nothing else happens. */
export const FINDINGS_INTERVAL_MS = 10 * 60_000;

/** Statuses retried; any other 4xx is the receiver refusing the message, and retrying won't help. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export interface AlertDispatcherOptions {
  store: Store;
  policy: () => Policy;
  clock: () => Date;
  /** The current deviance findings (grant-store/reports on the store's data). */
  findings: () => Promise<Finding[]>;
  retry?: RetryPolicy;
  /** The webhook secrets named by `secretEnv`, looked up by name (built once by the composition root). */
  secrets: SecretLookup;
  fetch?: typeof fetch;
  /** Diagnostics (never secrets). */
  log?: (message: string) => void;
}

/**
 * Alerts out: tails the ledger (durable cursor in meta), turns activations, critical-tier
 * requests and decisions into outbox items for every policy webhook that subscribes to them,
 * adds new deviance findings, and delivers with HMAC signatures and bounded exponential
 * backoff. Each final outcome is one alert_delivered or alert_failed ledger entry, written in
 * the same transaction that takes the item out of the outbox.
 */
export class AlertDispatcher {
  private readonly retry: RetryPolicy;
  private readonly secrets: SecretLookup;
  private readonly fetchImpl: typeof fetch;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private findingsTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = true;
  private findingsDue = true;
  private kickTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: AlertDispatcherOptions) {
    this.retry = opts.retry ?? DEFAULT_RETRY_POLICY;
    this.secrets = opts.secrets;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.opts.store.onLedgerAppended((entries) => {
      if (entries.some((e) => e.type === 'bypass_activated')) this.findingsDue = true;
      if (entries.some((e) => e.type !== 'alert_delivered' && e.type !== 'alert_failed')) this.kickSoon();
    });
    this.findingsTimer = setInterval(() => {
      this.findingsDue = true;
      this.kick();
    }, FINDINGS_INTERVAL_MS);
    this.findingsTimer.unref();
    this.kick();
  }

  /** Stop timers and wait for the pass in flight; pending items stay in the outbox. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.kickTimer) clearTimeout(this.kickTimer);
    if (this.findingsTimer) clearInterval(this.findingsTimer);
    await this.chain;
  }

  /** Run one pass within KICK_COALESCE_MS; appends arriving meanwhile share it. */
  private kickSoon(): void {
    if (this.kickTimer || this.stopped) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      this.kick();
    }, KICK_COALESCE_MS);
    this.kickTimer.unref();
  }

  /** Run one pass soon (passes never overlap). */
  kick(): void {
    this.chain = this.chain.then(() => (this.stopped ? undefined : this.pass())).catch((error: unknown) => this.opts.log?.(`alerts: ${String(error)}`));
  }

  /** One pass: ingest new ledger entries, check findings, deliver what is due, arm the timer. */
  async pass(): Promise<void> {
    await this.ingestLedger();
    if (this.findingsDue) {
      this.findingsDue = false;
      await this.ingestFindings();
    }
    await this.deliverDue();
    await this.armTimer();
  }

  private newItems(events: readonly AlertEvent[], policy: Policy, now: string): OutboxItem[] {
    return outboxItemsFor(events, policy, now);
  }

  private async ingestLedger(): Promise<void> {
    // Read-only check first: a write transaction only when there is something to ingest.
    if ((await this.opts.store.ledgerSize()) - 1 <= (await readCursor(this.opts.store))) return;
    for (;;) {
      const more = await this.opts.store.transaction(async (tx) => {
        await lockOutbox(tx);
        const cursor = await readCursor(tx);
        // Only the entries that can alert are read (lifecycleEntries: every type but a warn's
        // evaluation, from a partial index), so CI traffic's evaluations cost nothing here. The
        // size is read first: committed seqs form a prefix (both backends number in commit
        // order), so every entry below it is visible to the read that follows.
        const size = await tx.ledgerSize();
        const entries = await tx.lifecycleEntries(cursor, INGEST_BATCH);
        const full = entries.length === INGEST_BATCH;
        const through = full ? entries.at(-1)!.seq : Math.max(entries.at(-1)?.seq ?? cursor, size - 1);
        if (through <= cursor) return false;
        const policy = this.opts.policy();
        const now = this.opts.clock().toISOString();
        const events: AlertEvent[] = [];
        // The requests are read, not locked (getRequests is a plain read on both backends): an
        // alert only describes them, and locking them here, in seq order, while warn batches
        // lock theirs in id order then the ledger head deadlocked under CI traffic on PostgreSQL.
        const alerting = entries.filter((entry) => ALERTING_ENTRY_TYPES.has(entry.type));
        const requestIds = [...new Set(alerting.flatMap((entry) => (entry.target.startsWith('req_') ? [entry.target] : [])))];
        const requests = new Map((await tx.getRequests(requestIds)).map((r) => [r.id, r]));
        for (const entry of alerting) {
          const request = requests.get(entry.target);
          events.push(...alertEventsForEntry(entry, policy, request));
          if (entry.type === 'bypass_activated' && request) {
            const overBudget = await this.overBudget(tx, policy, entry, request);
            if (overBudget) events.push(overBudget);
          }
        }
        await this.enqueue(tx, this.newItems(events, policy, now));
        await tx.setMeta(CURSOR_META_KEY, JSON.stringify(through));
        return full;
      });
      if (!more) return;
    }
  }

  /**
   * The over_budget alert when this activation leaves its team over budget for the quarter,
   * and no transaction (this instance before a restart, or another instance) has claimed the
   * team's quarter yet. The claim commits with the outbox item, so it goes out exactly once.
   */
  private async overBudget(tx: StoreTx, policy: Policy, entry: LedgerEntry, request: BypassRequest): Promise<AlertEvent | undefined> {
    const standing = await teamBudgetStanding(tx, policy, request.team, Date.parse(entry.time));
    if (!standing?.over) return undefined;
    const event = overBudgetEvent(entry, request, standing);
    return (await tx.claimMeta(event.key, JSON.stringify({ seq: entry.seq, at: entry.time }))) ? event : undefined;
  }

  private async ingestFindings(): Promise<void> {
    const findings = await this.opts.findings();
    if (findings.length === 0) return;
    await this.opts.store.transaction(async (tx) => {
      await lockOutbox(tx);
      const seen = await readSeenFindings(tx);
      const fresh = findings.filter((f) => !seen.includes(f.id));
      if (fresh.length === 0) return;
      const now = this.opts.clock().toISOString();
      await this.enqueue(tx, this.newItems(fresh.map((f) => alertEventForFinding(f, now)), this.opts.policy(), now));
      await tx.setMeta(SEEN_FINDINGS_META_KEY, JSON.stringify([...seen, ...fresh.map((f) => f.id)].slice(-SEEN_FINDINGS_KEEP)));
    });
  }

  /** Add items whose key is not already queued. */
  private async enqueue(tx: StoreTx, items: readonly OutboxItem[]): Promise<void> {
    await enqueueOutboxItems(tx, items);
  }

  private async attempt(item: OutboxItem): Promise<{ ok: true; status: number } | { ok: false; error: string; final: boolean }> {
    let secret: string | undefined;
    if (item.secretEnv) {
      secret = this.secrets(item.secretEnv);
      if (!secret) return { ok: false, error: `the webhook secret environment variable ${item.secretEnv} is not set: refusing to send unsigned`, final: true };
    }
    const timestamp = Math.floor(this.opts.clock().getTime() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'breakglass-alerts/1',
      [DELIVERY_HEADER]: item.id,
      [EVENT_HEADER]: item.event,
      [TIMESTAMP_HEADER]: String(timestamp),
    };
    if (secret) headers[SIGNATURE_HEADER] = signWebhook(secret, timestamp, item.body);
    try {
      const response = await this.fetchImpl(item.url, { method: 'POST', headers, body: item.body, redirect: 'error', signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS) });
      await response.body?.cancel();
      if (response.ok) return { ok: true, status: response.status };
      return { ok: false, error: `HTTP ${response.status}`, final: !retryable(response.status) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), final: false };
    }
  }

  private async deliverDue(): Promise<void> {
    const nowMs = this.opts.clock().getTime();
    // A read-only look first: a write transaction only when something is due.
    if (!(await readOutbox(this.opts.store)).some((i) => Date.parse(i.nextAttemptAt) <= nowMs)) return;
    const lease = `lease_${randomBytes(8).toString('hex')}`;
    const due = await this.claimDue(lease);
    if (due.length === 0) return;
    const results = await Promise.all(due.map(async (item) => ({ item, result: await this.attempt(item) })));
    await this.opts.store.transaction(async (tx) => {
      await lockOutbox(tx);
      const outbox = await readOutbox(tx);
      const at = this.opts.clock();
      const entries: NewLedgerEntry[] = [];
      const next: OutboxItem[] = [];
      for (const item of outbox) {
        // Only the lease this pass took: an item whose lease ran out and was taken by another
        // instance is that instance's to record.
        const done = item.lease === lease ? results.find((r) => r.item.id === item.id) : undefined;
        if (!done) {
          next.push(item);
          continue;
        }
        const attempts = item.attempts + 1;
        const { result } = done;
        if (result.ok) {
          entries.push(this.record('alert_delivered', item, attempts, at, { status: result.status }));
        } else if (result.final || attempts >= this.retry.maxAttempts) {
          entries.push(this.record('alert_failed', item, attempts, at, { error: result.error }));
          this.opts.log?.(`alerts: delivery ${item.id} to webhook ${item.webhookId} failed for good after ${attempts} attempt(s): ${result.error}`);
        } else {
          next.push({ ...item, attempts, lastError: result.error, lease: null, nextAttemptAt: new Date(at.getTime() + retryDelayMs(attempts, this.retry)).toISOString() });
        }
      }
      await writeOutbox(tx, next);
      if (entries.length > 0) await tx.appendLedger(entries);
    });
  }

  /**
   * Claim up to DELIVERY_BATCH due items for this pass: under the outbox lock, each gets `lease`
   * and its next attempt moved to the lease's end, so no other instance sends it meanwhile.
   */
  private async claimDue(lease: string): Promise<OutboxItem[]> {
    return this.opts.store.transaction(async (tx) => {
      await lockOutbox(tx);
      const outbox = await readOutbox(tx);
      const now = this.opts.clock();
      const due = outbox.filter((i) => Date.parse(i.nextAttemptAt) <= now.getTime()).slice(0, DELIVERY_BATCH);
      if (due.length === 0) return [];
      const ids = new Set(due.map((i) => i.id));
      const until = new Date(now.getTime() + DELIVERY_LEASE_MS).toISOString();
      await writeOutbox(tx, outbox.map((i) => (ids.has(i.id) ? { ...i, lease, nextAttemptAt: until } : i)));
      return due;
    });
  }

  private record(type: 'alert_delivered' | 'alert_failed', item: OutboxItem, attempts: number, at: Date, extra: Record<string, unknown>): NewLedgerEntry {
    return {
      time: at.toISOString(),
      type,
      actor: 'system',
      actorRole: 'system',
      target: item.subject,
      gate: item.gate,
      reason: null,
      incidentRef: null,
      approver: null,
      expiresAt: null,
      sourceAddress: null,
      data: { deliveryId: item.id, webhookId: item.webhookId, event: item.event, url: item.url, format: item.format, signed: item.secretEnv !== null, attempts, firstQueuedAt: item.createdAt, ...extra },
    };
  }

  private async armTimer(): Promise<void> {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const outbox = await readOutbox(this.opts.store);
    if (outbox.length === 0) return;
    const next = Math.min(...outbox.map((i) => Date.parse(i.nextAttemptAt)));
    const delay = Math.max(0, next - this.opts.clock().getTime());
    this.timer = setTimeout(() => this.kick(), delay);
    this.timer.unref();
  }
}

/** One outbox item per (event, webhook that gets it): critical events go to every webhook. */
export function outboxItemsFor(events: readonly AlertEvent[], policy: Policy, now: string): OutboxItem[] {
  const items: OutboxItem[] = [];
  for (const event of events) {
    for (const webhook of policy.webhooks) {
      if (!isCriticalAlert(event.event) && !webhook.events.includes(event.event)) continue;
      const id = `dlv_${randomBytes(12).toString('hex')}`;
      items.push({
        id,
        key: `${event.key}:${webhook.id}`,
        event: event.event,
        subject: event.subject,
        gate: event.gate,
        webhookId: webhook.id,
        url: webhook.url,
        format: webhook.format,
        secretEnv: webhook.secretEnv ?? null,
        body: renderWebhookBody(webhook.format, event, id),
        createdAt: now,
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
      });
    }
  }
  return items;
}

/** Queue `items` in the outbox (those whose key is already queued are skipped); the dispatcher delivers them. */
export async function enqueueOutboxItems(tx: StoreTx, items: readonly OutboxItem[]): Promise<void> {
  if (items.length === 0) return;
  await lockOutbox(tx);
  const outbox = await readOutbox(tx);
  const keys = new Set(outbox.map((i) => i.key));
  await writeOutbox(tx, [...outbox, ...items.filter((i) => !keys.has(i.key))]);
}
