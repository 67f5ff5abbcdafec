import { join } from 'node:path';
import type { ConsoleLogger } from './logger';
import { readTextIfExists, writeJsonAtomic } from './files';

/** Cached answers kept for offline reading (request pages with history, review lists). */
export const OFFLINE_CACHE_LIMIT = 500;

interface CacheRecord {
  at: string;
  value: unknown;
}

/**
 * The last answer the store gave for a few read-only queries, in the data dir, so a request's
 * history and the reviews stay readable offline. Not secret (the same data the ledger mirror
 * holds); bounded; the oldest records are dropped first.
 */
export class OfflineCache {
  private records: Map<string, CacheRecord> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataDir: string,
    private readonly logger: ConsoleLogger,
  ) {}

  private get path(): string {
    return join(this.dataDir, 'offline-cache.json');
  }

  private async load(): Promise<Map<string, CacheRecord>> {
    if (this.records) return this.records;
    const text = await readTextIfExists(this.path);
    let parsed: Record<string, CacheRecord> = {};
    try {
      if (text) parsed = JSON.parse(text) as Record<string, CacheRecord>;
    } catch (error) {
      // A cache, not a record: a broken file only costs the offline copies, which refill online.
      this.logger.warn({ err: error, path: this.path }, 'offline cache unreadable, starting empty');
    }
    this.records = new Map(Object.entries(parsed));
    return this.records;
  }

  async get<T>(key: string): Promise<{ at: string; value: T } | undefined> {
    const record = (await this.load()).get(key);
    return record ? { at: record.at, value: record.value as T } : undefined;
  }

  async put(key: string, value: unknown, at: Date): Promise<void> {
    const records = await this.load();
    records.delete(key);
    records.set(key, { at: at.toISOString(), value });
    while (records.size > OFFLINE_CACHE_LIMIT) records.delete(records.keys().next().value as string);
    const snapshot = Object.fromEntries(records);
    // Writes are chained so an older snapshot never lands after a newer one; a failed write is
    // logged and the chain goes on (the next put writes everything again).
    this.writing = this.writing.then(() => writeJsonAtomic(this.path, snapshot)).catch((error: unknown) => this.logger.warn({ err: error, path: this.path }, 'offline cache not saved'));
    await this.writing;
  }

  async clear(): Promise<void> {
    this.records = new Map();
    await writeJsonAtomic(this.path, {});
  }
}
