import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../../../shared/errors';
import { encodeTileIndex, entryBundle, parseTilePath, tilePath, tileWidthAt } from '../../../../shared/ledger/tlog-tiles';

test('tile indexes are written in 3-digit groups, every group but the last prefixed x (the spec example)', () => {
  assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
  assert.equal(encodeTileIndex(0), '000');
  assert.equal(encodeTileIndex(999), '999');
  assert.equal(encodeTileIndex(1000), 'x001/000');
  assert.equal(tilePath({ level: 1, index: 1234067, width: 8 }), 'tile/1/x001/x234/067.p/8');
  assert.equal(tilePath({ level: 'entries', index: 5, width: null }), 'tile/entries/005');
});

test('tile paths parse back, and non-canonical ones are not found', () => {
  for (const ref of [
    { level: 0, index: 0, width: null },
    { level: 2, index: 1234067, width: 255 },
    { level: 'entries' as const, index: 1000, width: 1 },
  ]) {
    assert.deepEqual(parseTilePath(tilePath(ref).split('/').slice(1)), ref);
  }
  for (const bad of ['0/1', '0/x000/001', '64/000', '0/000.p/256', '0/000.p/0', '0/000.p/07', 'x/000', '0/001/002', 'entries/01', '00/000']) {
    assert.throws(() => parseTilePath(bad.split('/')), (e: unknown) => e instanceof AppError && e.code === 'not_found', bad);
  }
});

test('tile widths follow the tree size, and entry bundles frame each entry with a 2-byte big-endian length', () => {
  assert.equal(tileWidthAt(0, 0, 300), 256);
  assert.equal(tileWidthAt(0, 1, 300), 44);
  assert.equal(tileWidthAt(0, 2, 300), 0);
  assert.equal(tileWidthAt(1, 0, 300), 1);
  assert.equal(tileWidthAt(1, 0, 256 * 256 * 3), 256);
  assert.equal(tileWidthAt('entries', 1, 300), 44);
  const bundle = entryBundle([Uint8Array.of(7), new Uint8Array(300).fill(1)]);
  assert.deepEqual([...bundle.slice(0, 5)], [0, 1, 7, 1, 44]);
  assert.equal(bundle.length, 2 + 1 + 2 + 300);
  assert.throws(() => entryBundle([new Uint8Array(0x10000)]), /does not fit/);
});
