import type { Scope } from '../../shared/domain/common';
import type { BypassRequest } from '../../shared/domain/request';
import { ruleCovers, type ScopeRule } from '../../shared/policy/scope-rules';

/**
 * The active bypasses of this instance, in memory, indexed for the gate check hot path: by
 * gate, then by one "anchor" attribute=value of the bypass scope. A bypass covers a subject
 * only if the subject carries every scope attribute, so it carries the anchor too: looking up
 * each subject attribute (at most 16) finds every candidate without scanning the gate's
 * bypasses. The anchor is the scope attribute whose bucket is smallest at insertion, so
 * 10,000 bypasses all scoped `repo=<x>,branch=main` spread over their repos instead of piling
 * up under branch=main.
 *
 * Expiry is exact: an entry whose expiresAt has passed never matches, even before the expiry
 * ledger entry removes it. Which bypasses exist is kept fresh by CheckIndexFeed.
 */

interface Indexed {
  request: BypassRequest;
  gate: string;
  anchor: string;
  expiresAtMs: number;
}

function bucketKey(attribute: string, value: string): string {
  // NUL cannot appear in scope keys or values (shared/domain/common.ts), so this is unambiguous.
  return `${attribute}\u0000${value}`;
}

export class BypassIndex {
  private readonly byRequest = new Map<string, Indexed>();
  private readonly byGate = new Map<string, Map<string, Indexed[]>>();

  get size(): number {
    return this.byRequest.size;
  }

  has(requestId: string): boolean {
    return this.byRequest.has(requestId);
  }

  /** Largest candidate list a match on `gate` may scan (diagnostics, tests). */
  largestBucket(gate: string): number {
    let largest = 0;
    for (const bucket of this.byGate.get(gate)?.values() ?? []) largest = Math.max(largest, bucket.length);
    return largest;
  }

  requestIds(): string[] {
    return [...this.byRequest.keys()];
  }

  /** Add or replace a request; anything not an active bypass with a window is removed instead. */
  upsert(request: BypassRequest): void {
    this.remove(request.id);
    if (request.state !== 'active' || !request.expiresAt || !request.bypassId) return;
    let buckets = this.byGate.get(request.gate);
    let anchor: string | undefined;
    let smallest = Infinity;
    for (const attribute of Object.keys(request.scope).sort()) {
      const key = bucketKey(attribute, request.scope[attribute]!);
      const size = buckets?.get(key)?.length ?? 0;
      if (size < smallest) [anchor, smallest] = [key, size];
    }
    if (anchor === undefined) return; // an empty scope never matches (ruleCovers)
    const item: Indexed = { request, gate: request.gate, anchor, expiresAtMs: Date.parse(request.expiresAt) };
    this.byRequest.set(request.id, item);
    if (!buckets) this.byGate.set(item.gate, (buckets = new Map()));
    const bucket = buckets.get(anchor);
    if (bucket) bucket.push(item);
    else buckets.set(anchor, [item]);
  }

  remove(requestId: string): void {
    const item = this.byRequest.get(requestId);
    if (!item) return;
    this.byRequest.delete(requestId);
    const buckets = this.byGate.get(item.gate);
    const bucket = buckets?.get(item.anchor);
    if (!buckets || !bucket) return;
    const i = bucket.indexOf(item);
    if (i >= 0) bucket.splice(i, 1);
    if (bucket.length === 0) buckets.delete(item.anchor);
    if (buckets.size === 0) this.byGate.delete(item.gate);
  }

  /** Drop entries whose window ended before `nowMs` (they already never match). */
  pruneExpired(nowMs: number): number {
    let pruned = 0;
    for (const [id, item] of this.byRequest) {
      if (item.expiresAtMs <= nowMs) {
        this.remove(id);
        pruned++;
      }
    }
    return pruned;
  }

  /**
   * The bypass covering (gate, subject) at `nowMs` under the gate's scope rule (ruleCovers: a
   * scope without every declared key never matches); when several do, the one that lasts
   * longest (the same choice as the store's findActiveBypasses order).
   */
  match(gate: string, subject: Scope, nowMs: number, rule?: ScopeRule): BypassRequest | undefined {
    const buckets = this.byGate.get(gate);
    if (!buckets) return undefined;
    let best: Indexed | undefined;
    for (const attribute of Object.keys(subject)) {
      const bucket = buckets.get(bucketKey(attribute, subject[attribute]!));
      if (!bucket) continue;
      for (const item of bucket) {
        if (item.expiresAtMs <= nowMs) continue;
        if (best && item.expiresAtMs <= best.expiresAtMs) continue;
        if (ruleCovers(rule, item.request.scope, subject)) best = item;
      }
    }
    return best?.request;
  }
}
