import type { Store, StoredToken } from '../storage/store';

/**
 * Bearer tokens are looked up on every HTTP call, gate checks included; without a cache that
 * lookup would be the check's only database round trip (Postgres) or its largest cost
 * (SQLite). Found tokens are kept at most TOKEN_CACHE_MS, and the whole cache is dropped on any
 * `token_revoked` ledger entry: the listener runs before a local revocation returns, and
 * (Postgres) receives other instances' revocations within milliseconds. Expiry needs nothing:
 * authenticate() compares expiresAt with the clock on every use. Unknown tokens are not cached.
 */
export const TOKEN_CACHE_MS = 10_000;
const TOKEN_CACHE_MAX = 10_000;

export class TokenCache {
  private readonly cache = new Map<string, { token: StoredToken; at: number }>();
  /**
   * Bearer string -> its hash, for tokens found in `cache`: hashing the bearer (SHA-256) was a
   * sizeable share of a gate check answered from memory. It only saves the hash: whether the
   * token is still cached (fresh, not revoked) is asked of `cache` on every use, and expiry is
   * judged by the caller on every use, exactly as without it. Cleared with `cache` (a
   * revocation, or the bound); unknown bearers never enter it.
   */
  private readonly hashes = new Map<string, string>();
  /**
   * Lookups in flight, by token hash: when a busy gate's entry ages out, its concurrent requests
   * (hundreds at a few thousand checks/s) share one read instead of each taking a pooled
   * PostgreSQL connection at once.
   */
  private readonly reading = new Map<string, Promise<StoredToken | undefined>>();
  private readonly unsubscribe: () => void;
  /** Moves on every revocation, so a read that started before it is not cached. */
  private epoch = 0;

  constructor(private readonly store: Store) {
    this.unsubscribe = store.onLedgerAppended((entries) => {
      if (entries.some((e) => e.type === 'token_revoked')) {
        this.cache.clear();
        this.hashes.clear();
        this.reading.clear();
        this.epoch++;
      }
    });
  }

  /** The cached token, if fresh: lets authentication finish synchronously on the hot path. */
  peek(tokenHash: string): StoredToken | undefined {
    const hit = this.cache.get(tokenHash);
    return hit && Date.now() - hit.at < TOKEN_CACHE_MS ? hit.token : undefined;
  }

  /**
   * peek() by the bearer itself: `hashOf(bearer)` (the token hash, identity-service.ts's
   * hashToken) is computed once per bearer while its token stays cached.
   */
  peekBearer(bearer: string, hashOf: (bearer: string) => string): StoredToken | undefined {
    const known = this.hashes.get(bearer);
    if (known !== undefined) return this.peek(known);
    const tokenHash = hashOf(bearer);
    const hit = this.peek(tokenHash);
    if (hit) {
      if (this.hashes.size >= TOKEN_CACHE_MAX) this.hashes.clear();
      this.hashes.set(bearer, tokenHash);
    }
    return hit;
  }

  async getTokenByHash(tokenHash: string): Promise<StoredToken | undefined> {
    const hit = this.peek(tokenHash);
    if (hit) return hit;
    let read = this.reading.get(tokenHash);
    if (!read) {
      const epoch = this.epoch;
      read = this.store.getTokenByHash(tokenHash).then((token) => {
        // A revocation seen while the read was in flight drops what it read (it may predate it).
        if (token && !token.revokedAt && epoch === this.epoch) {
          if (this.cache.size >= TOKEN_CACHE_MAX) {
            this.cache.clear();
            this.hashes.clear();
          }
          this.cache.set(tokenHash, { token, at: Date.now() });
        } else {
          this.cache.delete(tokenHash);
        }
        return token;
      });
      this.reading.set(tokenHash, read);
      const done = (): void => {
        if (this.reading.get(tokenHash) === read) this.reading.delete(tokenHash);
      };
      read.then(done, done);
    }
    return read;
  }

  stop(): void {
    this.unsubscribe();
    this.cache.clear();
    this.hashes.clear();
    this.reading.clear();
  }
}
