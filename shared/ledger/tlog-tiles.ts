import { AppError } from '../errors';

/**
 * C2SP tlog-tiles paths (https://c2sp.org/tlog-tiles): a hash tile `tile/<L>/<N>[.p/<W>]` holds
 * up to 256 hashes of tree level 8·L (32 bytes each, concatenated); an entry bundle
 * `tile/entries/<N>[.p/<W>]` holds entries 256·N … 256·N+W−1, each as a 2-byte big-endian length
 * and the entry bytes. N is written in 3-digit groups, every group but the last prefixed "x"
 * (1234067 → x001/x234/067). Pure: the store reads the hashes and entries.
 */

export const TILE_WIDTH = 256;
export const TILE_HEIGHT = 8;

export interface TileRef {
  /** 'entries' for an entry bundle, else the tile level L. */
  level: number | 'entries';
  index: number;
  /** The partial width (1..255), or null for a full tile. */
  width: number | null;
}

/** 1234067 → "x001/x234/067". */
export function encodeTileIndex(n: number): string {
  let digits = String(n);
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups = digits.match(/\d{3}/g)!;
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** The path of a tile below the log's prefix (no leading slash). */
export function tilePath(ref: TileRef): string {
  return `tile/${ref.level === 'entries' ? 'entries' : ref.level}/${encodeTileIndex(ref.index)}${ref.width === null ? '' : `.p/${ref.width}`}`;
}

function notFound(path: string, why: string): AppError {
  return new AppError('not_found', `no tile ${path}: ${why}`);
}

/** Parse the segments after `tile/` ("0", "x001", "234.p", "12"); refuses anything not in the spec's canonical form. */
export function parseTilePath(segments: readonly string[]): TileRef {
  const path = `tile/${segments.join('/')}`;
  const [first, ...rest] = segments;
  let level: number | 'entries';
  if (first === 'entries') level = 'entries';
  else if (first !== undefined && /^(0|[1-9]\d?)$/.test(first) && Number(first) <= 63) level = Number(first);
  else throw notFound(path, 'the level must be "entries" or a number 0..63');
  let width: number | null = null;
  let parts = rest;
  const last = rest[rest.length - 1];
  const beforeLast = rest[rest.length - 2];
  if (beforeLast?.endsWith('.p') && last !== undefined) {
    if (!/^[1-9]\d{0,2}$/.test(last) || Number(last) >= TILE_WIDTH) throw notFound(path, 'a partial width must be 1..255');
    width = Number(last);
    parts = [...rest.slice(0, -2), beforeLast.slice(0, -2)];
  }
  if (parts.length === 0 || parts.length > 5) throw notFound(path, 'the index must be 1 to 5 groups of 3 digits');
  let digits = '';
  parts.forEach((p, i) => {
    const ok = i < parts.length - 1 ? /^x\d{3}$/.test(p) : /^\d{3}$/.test(p);
    if (!ok) throw notFound(path, 'the index is written in 3-digit groups, each but the last prefixed "x"');
    digits += i < parts.length - 1 ? p.slice(1) : p;
  });
  // Canonical: no leading zero group (x000/001 is not 1).
  if (parts.length > 1 && parts[0] === 'x000') throw notFound(path, 'the index has a leading zero group');
  return { level, index: Number(digits), width };
}

/** How many hashes (or entries) tile `index` at `level` holds in a tree of `treeSize` leaves (0..256). */
export function tileWidthAt(level: number | 'entries', index: number, treeSize: number): number {
  const perHash = level === 'entries' ? 1 : 2 ** (TILE_HEIGHT * level);
  const available = Math.floor(treeSize / perHash) - index * TILE_WIDTH;
  return Math.max(0, Math.min(TILE_WIDTH, available));
}

/** The most bytes an entry may have in an entry bundle (its length is written in 2 bytes). */
export const MAX_BUNDLED_ENTRY_BYTES = 0xffff;

/** The error for an entry of `bytes` bytes that does not fit an entry bundle (every bundle writer throws it). */
export function entryTooLargeForBundle(bytes: number): AppError {
  return new AppError('internal', `a ledger entry of ${bytes} bytes does not fit an entry bundle (at most ${MAX_BUNDLED_ENTRY_BYTES})`);
}

/**
 * An entry bundle: each entry as a 2-byte big-endian length and its bytes. The store frames the
 * stored texts without encoding each first (shared/node/ledger/entry-bundle-writer.ts), to these bytes.
 */
export function entryBundle(entries: readonly Uint8Array[]): Uint8Array {
  const total = entries.reduce((n, e) => n + 2 + e.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    if (e.length > MAX_BUNDLED_ENTRY_BYTES) throw entryTooLargeForBundle(e.length);
    out[at] = e.length >> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}
