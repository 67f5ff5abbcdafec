import type { Webhook } from '../../shared/domain/policy';
import type { StoreReader, StoreTx } from '../storage/store';
import type { AlertEventKind } from './alert-events';

/**
 * The alert outbox lives in the store's own meta table, written in the same transaction as the
 * ledger entries that record deliveries, so it works on every backend and a restart neither
 * loses a pending delivery nor records one twice. Delivery itself is at-least-once: a crash
 * between a receiver's 2xx and our commit re-sends it with the same X-Breakglass-Delivery id,
 * which receivers use to drop duplicates.
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
