import type { Store } from '../storage/store';
import type { StoredSession } from './stored-session';

/** How long a found session is trusted without another lookup; an ended session drops the cache at once. */
export const SESSION_CACHE_MS = 10_000;
const SESSION_CACHE_MAX = 10_000;

/**
 * Session lookups for authentication, cached like admin tokens (grant-store/checks/token-cache.ts):
 * every call of a signed-in person needs one. A `session_ended` ledger entry (local, or another
 * instance's through the Postgres feed) clears the cache before the logout returns. Expiry needs
 * nothing: the caller compares expiresAt with the server clock on every use.
 */
export class SessionCache {
  private readonly cache = new Map<string, { session: StoredSession; at: number }>();
  private readonly unsubscribe: () => void;

  constructor(private readonly store: Store) {
    this.unsubscribe = store.onLedgerAppended((entries) => {
      if (entries.some((e) => e.type === 'session_ended')) this.cache.clear();
    });
  }

  peek(tokenHash: string): StoredSession | undefined {
    const hit = this.cache.get(tokenHash);
    return hit && Date.now() - hit.at < SESSION_CACHE_MS ? hit.session : undefined;
  }

  async get(tokenHash: string): Promise<StoredSession | undefined> {
    const hit = this.peek(tokenHash);
    if (hit) return hit;
    const session = await this.store.getSessionByHash(tokenHash);
    if (session && !session.endedAt) {
      if (this.cache.size >= SESSION_CACHE_MAX) this.cache.clear();
      this.cache.set(tokenHash, { session, at: Date.now() });
    } else {
      this.cache.delete(tokenHash);
    }
    return session;
  }

  stop(): void {
    this.unsubscribe();
    this.cache.clear();
  }
}
