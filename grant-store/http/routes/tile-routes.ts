import { AppError } from '../../../shared/errors';
import { seesEverything, type Viewer } from '../../../shared/policy/visibility';
import { parseTilePath, tileWidthAt, TILE_WIDTH, type TileRef } from '../../../shared/ledger/tlog-tiles';
import { EntryBundleCache } from '../../ledger/entry-bundle-cache';
import type { RoutePlugin } from '../route-context';

/**
 * The ledger served as C2SP tlog-tiles below /v1/ledger/tlog: the latest checkpoint, hash tiles
 * and entry bundles, all cut at the latest SIGNED checkpoint (a tile never shows what no
 * checkpoint covers). Full tiles never change: cached for a year; partial ones for a few seconds.
 * Entry bundles hold every entry in full, so only readers who see everything (auditors, admins)
 * get them; approvers read entries from /v1/ledger/entries, redacted where they may not see them,
 * and verify with the hash tiles, which everyone reading the ledger gets. Bundles are framed
 * from the stored texts into one buffer, full ones kept in a bounded LRU cache (EntryBundleCache).
 */
export const registerTileRoutes: RoutePlugin = async (_app, ctx) => {
  const { log, route } = ctx;
  const bundles = new EntryBundleCache((from, count) => ctx.deps.store.getLedgerTextRange(from, count));

  route('tlogCheckpoint', async ({ reply }) => {
    const cp = log.latestCheckpoint();
    if (!cp) throw new AppError('not_found', 'the log has not signed a checkpoint yet');
    return reply.header('cache-control', 'no-cache').type('text/plain; charset=utf-8').send(await ctx.witnesses.cosignedNote(cp));
  });

  async function serveTile(caller: Viewer, ref: TileRef, reply: Parameters<Parameters<typeof route<'tlogTile1'>>[1]>[0]['reply']) {
    const treeSize = log.latestCheckpoint()?.treeSize ?? 0;
    const available = tileWidthAt(ref.level, ref.index, treeSize);
    const width = ref.width ?? TILE_WIDTH;
    if (available < width) {
      throw new AppError('not_found', `no tile ${ref.level}/${ref.index} of width ${width}: the latest checkpoint (size ${treeSize}) covers ${available} ${ref.level === 'entries' ? 'entries' : 'hashes'} of it`);
    }
    if (ref.level === 'entries' && !seesEverything(caller)) {
      throw new AppError('forbidden', 'entry bundles carry every entry in full: auditors and admins only; read entries from /v1/ledger/entries (entries outside your tiers come redacted to their leaf hash)');
    }
    let body: Uint8Array;
    if (ref.level === 'entries') {
      body = await bundles.bundle(ref.index, width);
    } else {
      body = await log.tileHashes(ref.level, ref.index, width);
    }
    return reply
      .header('cache-control', ref.width === null ? 'max-age=31536000, immutable' : 'max-age=5')
      .type('application/octet-stream')
      .send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }

  // Not C2SP: full bundles start … start+count−1 in one answer, for a reader going through the log.
  route('entryBundles', async ({ caller, query, reply }) => {
    if (!seesEverything(caller)) {
      throw new AppError('forbidden', 'entry bundles carry every entry in full: auditors and admins only; read entries from /v1/ledger/entries (entries outside your tiers come redacted to their leaf hash)');
    }
    const { start, count } = query;
    const treeSize = log.latestCheckpoint()?.treeSize ?? 0;
    const full = Math.floor(treeSize / TILE_WIDTH);
    if (start + count > full) {
      throw new AppError('not_found', `no full entry bundles ${start}..${start + count - 1}: the latest checkpoint (size ${treeSize}) covers ${full} full bundle${full === 1 ? '' : 's'}`);
    }
    const body = await bundles.run(start, count);
    return reply.header('cache-control', 'max-age=31536000, immutable').type('application/octet-stream').send(body);
  });

  route('tlogTile1', async ({ caller, params, reply }) => serveTile(caller, parseTilePath([params.level, params.a]), reply));
  route('tlogTile2', async ({ caller, params, reply }) => serveTile(caller, parseTilePath([params.level, params.a, params.b]), reply));
  route('tlogTile3', async ({ caller, params, reply }) => serveTile(caller, parseTilePath([params.level, params.a, params.b, params.c]), reply));
  route('tlogTile4', async ({ caller, params, reply }) => serveTile(caller, parseTilePath([params.level, params.a, params.b, params.c, params.d]), reply));
};
