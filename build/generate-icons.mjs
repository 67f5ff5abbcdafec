// Generates the app and tray icons as PNG files using only Node (zlib for the IDAT stream), so the
// packaging config never depends on a download or an image tool. Run: node build/generate-icons.mjs
//
// App icon: a dark rounded square holding an amber shield split by a crack (break glass).
// Tray icon: the shield alone, plus variants with a red count badge (1-9, and 9+), at 1x/2x/3x.
import { Buffer } from 'node:buffer';
import { deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'icons');
export const APP_ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
/** 16 px logical tray icon: 1x, @2x (Retina/HiDPI), @3x. */
export const TRAY_SCALES = [1, 2, 3];
export const TRAY_BASE_SIZE = 16;
export const TRAY_BADGES = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '9+'];

// ---- PNG encoding -----------------------------------------------------------------------------
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
/** RGBA Float32 pixels (0..1, premultiplied later) → PNG bytes (8-bit RGBA, no interlace). */
export function encodePng(size, rgba) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size * 4; x++) raw[y * (size * 4 + 1) + 1 + x] = Math.round(Math.min(1, Math.max(0, rgba[y * size * 4 + x])) * 255);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

// ---- drawing (shapes in a 0..1 unit square, 4x4 supersampling) ------------------------------
const hex = (h) => [parseInt(h.slice(1, 3), 16) / 255, parseInt(h.slice(3, 5), 16) / 255, parseInt(h.slice(5, 7), 16) / 255];

function roundedSquare(x, y, r) {
  const dx = Math.max(Math.abs(x - 0.5) - (0.5 - r), 0);
  const dy = Math.max(Math.abs(y - 0.5) - (0.5 - r), 0);
  return dx * dx + dy * dy <= r * r;
}
/** A heater shield: flat top, straight sides, curving to a point at the bottom. */
function shield(x, y, cx, top, w, h) {
  const u = (x - cx) / (w / 2);
  const v = (y - top) / h;
  if (v < 0 || v > 1) return false;
  const half = v < 0.45 ? 1 : Math.sqrt(Math.max(0, 1 - ((v - 0.45) / 0.55) ** 2));
  return Math.abs(u) <= half;
}
function distToSegment(px, py, ax, ay, bx, by) {
  const t = Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
  return Math.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)));
}
function onCrack(x, y, cx, top, w, h, width) {
  const pts = [
    [cx - 0.02 * w, top],
    [cx + 0.12 * w, top + 0.3 * h],
    [cx - 0.1 * w, top + 0.55 * h],
    [cx + 0.06 * w, top + 1.0 * h],
  ];
  for (let i = 0; i < pts.length - 1; i++) if (distToSegment(x, y, ...pts[i], ...pts[i + 1]) < width) return true;
  return false;
}

// 3x5 bitmap digits for the badge.
const GLYPHS = {
  1: ['010', '110', '010', '010', '111'],
  2: ['111', '001', '111', '100', '111'],
  3: ['111', '001', '111', '001', '111'],
  4: ['101', '101', '111', '001', '001'],
  5: ['111', '100', '111', '001', '111'],
  6: ['111', '100', '111', '101', '111'],
  7: ['111', '001', '010', '010', '010'],
  8: ['111', '101', '111', '101', '111'],
  9: ['111', '101', '111', '001', '111'],
  '+': ['000', '010', '111', '010', '000'],
  '!': ['010', '010', '010', '000', '010'],
};
function onText(x, y, text, cx, cy, height) {
  const cell = height / 5;
  const totalWidth = text.length * 3 * cell + (text.length - 1) * cell * 0.6;
  let left = cx - totalWidth / 2;
  for (const ch of text) {
    const glyph = GLYPHS[ch];
    const gx = Math.floor((x - left) / cell);
    const gy = Math.floor((y - (cy - height / 2)) / cell);
    if (glyph && gx >= 0 && gx < 3 && gy >= 0 && gy < 5 && glyph[gy][gx] === '1') return true;
    left += 3 * cell + cell * 0.6;
  }
  return false;
}

function render(size, paint) {
  const rgba = new Float32Array(size * size * 4);
  const SS = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const c = paint((px + (sx + 0.5) / SS) / size, (py + (sy + 0.5) / SS) / size);
          if (c) {
            r += c[0] * c[3];
            g += c[1] * c[3];
            b += c[2] * c[3];
            a += c[3];
          }
        }
      }
      const i = (py * size + px) * 4;
      const n = SS * SS;
      rgba[i + 3] = a / n;
      if (a > 0) {
        rgba[i] = r / a;
        rgba[i + 1] = g / a;
        rgba[i + 2] = b / a;
      }
    }
  }
  return rgba;
}

const BG = hex('#111827');
const AMBER = hex('#f59e0b');
const CRACK = hex('#111827');
const RED = hex('#dc2626');
const WHITE = [1, 1, 1];
const GREY = hex('#9ca3af');

export function appIcon(size) {
  return render(size, (x, y) => {
    if (!roundedSquare(x, y, 0.2)) return null;
    if (shield(x, y, 0.5, 0.18, 0.56, 0.66)) return onCrack(x, y, 0.5, 0.18, 0.56, 0.66, 0.028) ? [...CRACK, 1] : [...AMBER, 1];
    return [...BG, 1];
  });
}

export function trayIcon(size, badge) {
  return render(size, (x, y) => {
    if (badge) {
      const d = Math.hypot(x - 0.7, y - 0.3);
      if (d < 0.3) return onText(x, y, badge, 0.7, 0.3, badge.length > 1 ? 0.26 : 0.34) ? [...WHITE, 1] : [...RED, 1];
      if (d < 0.36) return null; // a transparent ring separates the badge from the shield
    }
    if (shield(x, y, 0.45, 0.06, 0.8, 0.88)) return onCrack(x, y, 0.45, 0.06, 0.8, 0.88, 0.05) ? null : [...(badge === TRAY_ERROR_BADGE ? GREY : AMBER), 1];
    return null;
  });
}

/** The session is in trouble (token rejected, offline, log halted): the shield greyed, a red "!" badge. */
export const TRAY_ERROR_BADGE = '!';

export function trayFileName(badge, scale) {
  const name = badge ? `tray-${badge === '9+' ? 'many' : badge === TRAY_ERROR_BADGE ? 'error' : badge}` : 'tray';
  return `${name}${scale === 1 ? '' : `@${scale}x`}.png`;
}

export function generateIcons(outDir = OUT) {
  mkdirSync(join(outDir, 'tray'), { recursive: true });
  const written = [];
  for (const size of APP_ICON_SIZES) {
    const file = join(outDir, `${size}x${size}.png`);
    writeFileSync(file, encodePng(size, appIcon(size)));
    written.push(file);
  }
  writeFileSync(join(outDir, 'icon.png'), encodePng(1024, appIcon(1024)));
  written.push(join(outDir, 'icon.png'));
  for (const badge of [null, ...TRAY_BADGES, TRAY_ERROR_BADGE]) {
    for (const scale of TRAY_SCALES) {
      const size = TRAY_BASE_SIZE * scale;
      const file = join(outDir, 'tray', trayFileName(badge, scale));
      writeFileSync(file, encodePng(size, trayIcon(size, badge)));
      written.push(file);
    }
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = generateIcons();
  console.log(`wrote ${files.length} icons under ${OUT}`);
}
