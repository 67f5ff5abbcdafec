import { AppError } from '../../../shared/errors';
import type { ConsoleClock } from '../clock';
import type { OfflineCache } from '../offline-cache';
import type { ConnectionTracker } from '../session/connection-tracker';

/** Where an answer came from, as the contract's DataSourceSchema says. */
export interface DataSource {
  source: 'store' | 'mirror';
  asOf: string | null;
}

/**
 * The one offline fallback of the console's read models: ask the store; on success keep a copy
 * (offline-cache.json); when the store is unreachable, answer with the copy and say how old it is.
 * Any other error (the store answered "no") is passed on: a copy never overrides an answer.
 */
export class OfflineFallback {
  constructor(
    private readonly cache: OfflineCache,
    private readonly connection: ConnectionTracker,
    private readonly clock: ConsoleClock,
  ) {}

  async read<T>(key: string, fetchFresh: () => Promise<T>, noCopy?: (error: AppError) => AppError): Promise<{ value: T; data: DataSource }> {
    try {
      const value = await this.connection.track(fetchFresh());
      const at = this.clock.now();
      await this.cache.put(key, value, at);
      return { value, data: { source: 'store', asOf: at.toISOString() } };
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'store_unreachable') throw error;
      const cached = await this.cache.get<T>(key);
      if (!cached) throw noCopy ? noCopy(error) : error;
      return { value: cached.value, data: { source: 'mirror', asOf: cached.at } };
    }
  }

  /** When the copy under `key` was taken (ms), if there is one. */
  async copiedAt(key: string): Promise<number | undefined> {
    const cached = await this.cache.get(key);
    return cached ? Date.parse(cached.at) : undefined;
  }
}
