import type { Scope } from '../../shared/domain/common';
import type { BypassRequest } from '../../shared/domain/request';
import type { ScopeRule } from '../../shared/policy/scope-rules';
import type { Store, StoreTx } from '../storage/store';
import { BlockCounter } from './block-counter';
import { CheckIndexFeed, type CheckIndexFeedOptions } from './check-index-feed';
import { GroupCommit } from './group-commit';

/**
 * What POST /v1/checks needs to answer from memory: the active bypass covering a subject, and
 * a place to count blocks. Only a `warn` touches the database (its evaluation is a ledger
 * entry).
 */
export interface CheckHotPath {
  /**
   * The active bypass covering (gate, subject) at `nowMs`, from the in-memory index: at once,
   * or a promise when an activation on that gate is still being read (CheckIndexFeed.match).
   * `rule`: the gate's scope rule (the match is on its declared keys).
   */
  match(gate: string, subject: Scope, nowMs: number, rule?: ScopeRule): BypassRequest | undefined | Promise<BypassRequest | undefined>;
  /** Count one block on `gate` (written to the store in batches). */
  countBlock(gate: string, at: string): void;
  /**
   * Record a warn's evaluation: `fn` runs in a transaction shared with the other checks
   * arriving meanwhile (group commit, see GroupCommit for what `fn` may do, and `request`, the
   * bypass's request it confirms); resolves after the commit, or rejects at once with 503
   * `unavailable` and a Retry-After when the queue is backed up.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>, request?: string): Promise<T>;
}

export interface RunningCheckHotPath extends CheckHotPath {
  readonly feed: CheckIndexFeed;
  readonly blocks: BlockCounter;
  stop(): Promise<void>;
}

/** Load the index (resolves when it can answer) and start the block counter. */
export async function startCheckHotPath(store: Store, options: CheckIndexFeedOptions = {}): Promise<RunningCheckHotPath> {
  const feed = new CheckIndexFeed(store, options);
  await feed.start();
  const blocks = new BlockCounter(store, undefined, options.log);
  const group = new GroupCommit(store, { log: options.log });
  return {
    feed,
    blocks,
    match: (gate, subject, nowMs, rule) => feed.match(gate, subject, nowMs, rule),
    countBlock: (gate, at) => blocks.count(gate, at),
    transaction: (fn, request) => group.run(fn, request),
    async stop() {
      feed.stop();
      await blocks.stop();
    },
  };
}
