import { AppError } from '../../shared/errors';
import { TILE_WIDTH } from '../../shared/ledger/tlog-tiles';
import { entryBundleFromTexts } from '../../shared/node/ledger/entry-bundle-writer';

/**
 * Bytes of full entry bundles kept, least recently used dropped first. A bundle of 256 entries of
 * ~500 bytes is ~130 KB, so 32 MB holds ~250 of them (~64k entries): the stretch several readers
 * ask for within a short time (CDN edges missing one after another, auditors verifying the same
 * new bundles, incremental verifiers), at under a tenth of the 400 MB the store may use at 1M
 * entries (issue 16). A fresh verifier reading every bundle once gains nothing from it: each
 * read's own cost (one string a row, framed into one buffer) is what it pays.
 */
export const DEFAULT_ENTRY_BUNDLE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * How many of the last full bundles read once are remembered (by index only): a second read
 * within them is cached. About the number the cache holds, so a reader sweeping the whole log
 * again (4,000 bundles at 1M) is a first read each time, never admitted.
 */
export const DEFAULT_ENTRY_BUNDLE_SEEN = 256;

/**
 * Entry bundles of the C2SP tlog-tiles layout (tile/entries/<N>[.p/<W>]) read from the store:
 * the texts of the bundle's rows plucked as one string a row (Store.getLedgerTextRange) and
 * framed into one buffer. Full bundles (256 entries) never change, so they are kept in a bounded
 * LRU cache with a byte budget; partial ones are read each time. A full bundle is cached on its
 * SECOND read within the last DEFAULT_ENTRY_BUNDLE_SEEN first reads: a reader going through
 * every bundle (a fresh verifier, a CDN filling, a second verifier after the first) then costs
 * no more than with no cache at all. Caching every read did cost: each bundle's buffer outlived
 * the young generation and was freed only by full collections (serving all of a 1M store's
 * bundles on PostgreSQL: 0.50-0.57 ms of store CPU a bundle when every read was cached, 0.25-0.28
 * ms when none was). The caller decides who may read a bundle and that the latest signed
 * checkpoint covers it.
 */
export class EntryBundleCache {
  private readonly full = new Map<number, Buffer>();
  private readonly reading = new Map<number, Promise<Buffer>>();
  /** Indexes of full bundles read once and not cached, oldest first. */
  private readonly seen = new Set<number>();
  private bytes = 0;

  constructor(
    private readonly texts: (from: number, count: number) => Promise<string[]>,
    private readonly maxBytes = DEFAULT_ENTRY_BUNDLE_CACHE_BYTES,
    private readonly maxSeen = DEFAULT_ENTRY_BUNDLE_SEEN,
  ) {}

  /** Bundle `index` of `width` entries (1..256): the bytes as served. */
  bundle(index: number, width: number): Promise<Buffer> {
    if (width !== TILE_WIDTH) return this.read(index, width);
    const hit = this.full.get(index);
    if (hit) {
      // Most recently used last.
      this.full.delete(index);
      this.full.set(index, hit);
      return Promise.resolve(hit);
    }
    let pending = this.reading.get(index);
    if (!pending) {
      pending = this.read(index, width);
      if (!this.seen.delete(index)) {
        // A first read: remembered, not cached.
        this.seen.add(index);
        if (this.seen.size > this.maxSeen) this.seen.delete(this.seen.values().next().value!);
        return pending;
      }
      this.reading.set(index, pending);
      // A failed read reaches its callers through `pending`; here it is only forgotten, so the next read retries.
      pending.then(
        (body) => {
          this.reading.delete(index);
          this.keep(index, body);
        },
        (_readFailed: unknown) => this.reading.delete(index),
      );
    }
    return pending;
  }

  /**
   * Full bundles `first` … `first + count − 1` concatenated (each as `bundle()` serves it): the
   * ones cached taken from memory, each run of the others read as one range. A read of several
   * bundles is a reader going through the log (a verifier), so it neither admits nor marks as
   * seen the bundles it reads (see the class comment).
   */
  async run(first: number, count: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let at = first;
    const end = first + count;
    while (at < end) {
      const hit = this.full.get(at);
      if (hit) {
        parts.push(hit);
        at++;
        continue;
      }
      let stop = at + 1;
      while (stop < end && !this.full.has(stop)) stop++;
      parts.push(await this.read(at, (stop - at) * TILE_WIDTH));
      at = stop;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Bytes held by the cached bundles. */
  get cachedBytes(): number {
    return this.bytes;
  }

  private keep(index: number, body: Buffer): void {
    if (body.length > this.maxBytes || this.full.has(index)) return;
    this.full.set(index, body);
    this.bytes += body.length;
    while (this.bytes > this.maxBytes) {
      const [oldest, dropped] = this.full.entries().next().value!;
      this.full.delete(oldest);
      this.bytes -= dropped.length;
    }
  }

  /** Entries from bundle `index` on, `width` of them (one bundle's, or several full ones'), framed. */
  private async read(index: number, width: number): Promise<Buffer> {
    const from = index * TILE_WIDTH;
    const texts = await this.texts(from, width);
    if (texts.length !== width) throw new AppError('internal', `ledger entries ${from}..${from + width - 1} are not all stored`);
    return entryBundleFromTexts(texts);
  }
}
