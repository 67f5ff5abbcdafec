import type { Webhook } from '../../shared/domain/policy';
import type { StoreReader, StoreTx } from '../storage/store';
import type { AlertEventKind } from './alert-events';

/**
 * The alert outbox lives in the store's own meta table, written in the same transaction as the
 * ledger entries that record deliveries, so it works on every backend and a restart neither
 * loses a pending delivery nor records one twice. Delivery itself is at-least-once: a crash
 * between a receiver's 2xx and our commit re-sends it with the same X-Breakglass-Delivery id,
 * which receivers use to drop duplicates.
 *
 * Several instances (PostgreSQL) share the outbox, so every transaction that reads and rewrites
 * it (or the cursor, or the seen findings) first takes lockOutbox: without it two instances both
 * read the same cursor, both queue the same alerts and the later write drops the other's items
 * (an over_budget alert claimed by one and overwritten by the other is never sent), and both send
 * the same due items. Sending happens outside any transaction, under a lease: an item is claimed
 * (its `lease` set, its next attempt pushed to the lease's end) before it is sent, and only the
 * holder of that lease records the outcome. An instance that dies mid-send leaves the item to be
 * retried by any instance once the lease ends.
 */
export const OUTBOX_META_KEY = 'alerts.outbox';
/** Highest ledger seq already turned into alert events (-1 before the first). */
export const CURSOR_META_KEY = 'alerts.cursor';
/** Finding ids already alerted (bounded; ids carry their ISO week so old ones never recur). */
export const SEEN_FINDINGS_META_KEY = 'alerts.findings.seen';
export const SEEN_FINDINGS_KEEP = 1000;

export interface OutboxItem {
  /** dlv_<hex>: sent as X-Breakglass-Delivery, stable across retries. */
  id: string;
  key: string;
  event: AlertEventKind;
  subject: string;
  gate: string | null;
  webhookId: string;
  url: string;
  format: Webhook['format'];
  secretEnv: string | null;
  /** The exact body, fixed at enqueue time so every retry sends (and signs) the same bytes. */
  body: string;
  createdAt: string;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  /** The claim of the instance sending it now (until nextAttemptAt); absent or null when nobody is. */
  lease?: string | null;
}

/** Serialise this transaction with every other one touching the outbox, cursor or seen findings, on any instance. */
export async function lockOutbox(tx: StoreTx): Promise<void> {
  await tx.lockMeta(OUTBOX_META_KEY);
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (text === undefined) return fallback;
  return JSON.parse(text) as T;
}

export async function readOutbox(reader: StoreReader): Promise<OutboxItem[]> {
  return parseJson<OutboxItem[]>(await reader.getMeta(OUTBOX_META_KEY), []);
}

export async function writeOutbox(tx: StoreTx, items: readonly OutboxItem[]): Promise<void> {
  await tx.setMeta(OUTBOX_META_KEY, JSON.stringify(items));
}

export async function readCursor(reader: StoreReader): Promise<number> {
  return parseJson<number>(await reader.getMeta(CURSOR_META_KEY), -1);
}

export async function readSeenFindings(reader: StoreReader): Promise<string[]> {
  return parseJson<string[]>(await reader.getMeta(SEEN_FINDINGS_META_KEY), []);
}

/** Bounded exponential backoff: base, 2 x base, 4 x base ... capped. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Defaults: 8 attempts, 5 s doubling to a 10 min cap: about 10.5 minutes of retries, long
 * enough to ride out a chat service's blip, short enough that a dead endpoint is reported
 * (alert_failed) while the bypass it is about is still live.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 5_000, maxDelayMs: 10 * 60_000 };

/** Delay before the attempt after `attemptsMade` failed attempts. */
export function retryDelayMs(attemptsMade: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
}
