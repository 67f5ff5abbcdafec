import { crc32, deflateSync } from 'node:zlib';
import { TEXT_ADVANCE, type Scene } from './chart-scene';
import { GLYPH_HEIGHT, GLYPH_SPACING, GLYPH_WIDTH, glyph } from './pixel-font';

/** Device pixels per CSS pixel: email clients show the image at the scene's size, sharp on HiDPI screens. */
export const PNG_PIXEL_RATIO = 2;

function parseColor(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new Error(`chart colour must be #rrggbb, not ${hex}`);
  const v = parseInt(m[1]!, 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** An RGB raster with the few operations charts need. */
class Raster {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: string,
  ) {
    this.data = new Uint8Array(width * height * 3);
    this.fill(0, 0, width, height, background);
  }

  fill(x: number, y: number, w: number, h: number, color: string): void {
    const [r, g, b] = parseColor(color);
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 3;
        this.data[i] = r;
        this.data[i + 1] = g;
        this.data[i + 2] = b;
      }
    }
  }
}

/** A PNG file (8-bit RGB, no interlace) from raw rows: signature, IHDR, IDAT (zlib), IEND. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    rows[y * (width * 3 + 1)] = 0; // filter type: none
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(rows, y * (width * 3 + 1) + 1);
  }
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** The scene rasterised at PNG_PIXEL_RATIO, text in the 5x7 pixel font. */
export function renderPng(scene: Scene): Buffer {
  const k = PNG_PIXEL_RATIO;
  const raster = new Raster(scene.width * k, scene.height * k, scene.background);
  // One font pixel = TEXT_ADVANCE / (glyph + spacing) CSS px = 1.5 CSS px = 3 device pixels.
  const dot = Math.round((TEXT_ADVANCE * k) / (GLYPH_WIDTH + GLYPH_SPACING));
  for (const s of scene.shapes) {
    if (s.kind === 'rect') {
      raster.fill(s.x * k, s.y * k, s.w * k, s.h * k, s.fill);
    } else if (s.kind === 'line') {
      const horizontal = Math.abs(s.y2 - s.y1) < Math.abs(s.x2 - s.x1);
      const [a, b] = horizontal ? [Math.min(s.x1, s.x2), Math.max(s.x1, s.x2)] : [Math.min(s.y1, s.y2), Math.max(s.y1, s.y2)];
      const dash = s.dashed ? 4 : b - a;
      for (let p = a; p < b; p += s.dashed ? 7 : dash) {
        const len = Math.min(dash, b - p);
        if (horizontal) raster.fill(p * k, s.y1 * k - k / 2, len * k, k, s.stroke);
        else raster.fill(s.x1 * k - k / 2, p * k, k, len * k, s.stroke);
      }
    } else {
      const width = s.text.length * (GLYPH_WIDTH + GLYPH_SPACING) * dot - GLYPH_SPACING * dot;
      let x = s.x * k;
      if (s.anchor === 'middle') x -= width / 2;
      else if (s.anchor === 'end') x -= width;
      const y = s.y * k + Math.round(dot / 2);
      for (const ch of s.text) {
        const rows = glyph(ch);
        for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
          for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
            if (rows[gy]![gx]) raster.fill(x + gx * dot, y + gy * dot, dot, dot, s.fill);
          }
        }
        x += (GLYPH_WIDTH + GLYPH_SPACING) * dot;
      }
    }
  }
  return encodePng(raster.width, raster.height, raster.data);
}
