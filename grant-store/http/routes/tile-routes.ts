import { utf8 } from '../../../shared/bytes';
import { AppError } from '../../../shared/errors';
import { entryBundle, parseTilePath, tileWidthAt, TILE_HEIGHT, TILE_WIDTH, type TileRef } from '../../../shared/ledger/tlog-tiles';
import type { RoutePlugin } from '../route-context';

/**
 * The ledger served as C2SP tlog-tiles below /v1/ledger/tlog: the latest checkpoint, hash tiles
 * and entry bundles, all cut at the latest SIGNED checkpoint (a tile never shows what no
 * checkpoint covers). Full tiles never change: cached for a year; partial ones for a few seconds.
 */
export const registerTileRoutes: RoutePlugin = async (_app, ctx) => {
  const { log, route } = ctx;

  route('tlogCheckpoint', async ({ reply }) => {
    const cp = log.latestCheckpoint();
    if (!cp) throw new AppError('not_found', 'the log has not signed a checkpoint yet');
    return reply.header('cache-control', 'no-cache').type('text/plain; charset=utf-8').send(await ctx.witnesses.cosignedNote(cp));
  });

  async function serveTile(ref: TileRef, reply: Parameters<Parameters<typeof route<'tlogTile1'>>[1]>[0]['reply']) {
    const treeSize = log.latestCheckpoint()?.treeSize ?? 0;
    const available = tileWidthAt(ref.level, ref.index, treeSize);
    const width = ref.width ?? TILE_WIDTH;
    if (available < width) {
      throw new AppError('not_found', `no tile ${ref.level}/${ref.index} of width ${width}: the latest checkpoint (size ${treeSize}) covers ${available} ${ref.level === 'entries' ? 'entries' : 'hashes'} of it`);
    }
    let body: Uint8Array;
    if (ref.level === 'entries') {
      const rows = await ctx.deps.store.getLedgerEntryTexts(ref.index * TILE_WIDTH, width);
      if (rows.length !== width) throw new AppError('internal', `ledger entries ${ref.index * TILE_WIDTH}..${ref.index * TILE_WIDTH + width - 1} are not all stored`);
      body = entryBundle(rows.map((r) => utf8(r.text)));
    } else {
      const level = TILE_HEIGHT * ref.level;
      body = new Uint8Array(32 * width);
      for (let i = 0; i < width; i++) body.set(log.perfect(level, ref.index * TILE_WIDTH + i), 32 * i);
    }
    return reply
      .header('cache-control', ref.width === null ? 'max-age=31536000, immutable' : 'max-age=5')
      .type('application/octet-stream')
      .send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }

  route('tlogTile1', async ({ params, reply }) => serveTile(parseTilePath([params.level, params.a]), reply));
  route('tlogTile2', async ({ params, reply }) => serveTile(parseTilePath([params.level, params.a, params.b]), reply));
  route('tlogTile3', async ({ params, reply }) => serveTile(parseTilePath([params.level, params.a, params.b, params.c]), reply));
  route('tlogTile4', async ({ params, reply }) => serveTile(parseTilePath([params.level, params.a, params.b, params.c, params.d]), reply));
};
