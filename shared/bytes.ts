/**
 * Byte encodings for the pure shared code (ledger math, signing, DSSE) on every side: store, CLI,
 * console and renderer. No Buffer, no atob/btoa, so it runs in shared/ unchanged.
 */

const HEX_DIGITS = '0123456789abcdef';
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_LOOKUP: Record<string, number> = Object.fromEntries([...BASE64_ALPHABET].map((c, i) => [c, i]));
/** Sextet by ASCII code, -1 outside the standard alphabet. */
const BASE64_CODES = Int8Array.from({ length: 128 }, (_, code) => BASE64_LOOKUP[String.fromCharCode(code)] ?? -1);
const EQUALS = 61;
/** The standard alphabet plus the URL-safe letters, which decode to the same sextets (DSSE allows either encoding). */
const LENIENT_BASE64_LOOKUP: Record<string, number> = { ...BASE64_LOOKUP, '-': 62, _: 63 };

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  return out;
}

/** Strict lowercase/uppercase hex of even length; throws on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('invalid hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard base64 with padding (signed notes, checkpoints, Sigstore bundles, DSSE envelopes). */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += BASE64_ALPHABET[(n >> 18) & 63]! + BASE64_ALPHABET[(n >> 12) & 63]! + BASE64_ALPHABET[(n >> 6) & 63]! + BASE64_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += BASE64_ALPHABET[(n >> 18) & 63]! + BASE64_ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += BASE64_ALPHABET[(n >> 18) & 63]! + BASE64_ALPHABET[(n >> 12) & 63]! + BASE64_ALPHABET[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Strict standard base64 with padding (the encoding signed notes and checkpoints use). Rejects
 * non-canonical encodings (stray bits in the last symbol) so one value has exactly one text form.
 */
export function fromBase64(text: string): Uint8Array {
  const length = text.length;
  if (length % 4 !== 0) throw new TypeError('invalid base64 string');
  const pad = length > 0 && text.charCodeAt(length - 1) === EQUALS ? (text.charCodeAt(length - 2) === EQUALS ? 2 : 1) : 0;
  const data = length - pad;
  const out = new Uint8Array((length / 4) * 3 - pad);
  // Sextets are read by char code (a verifier decodes a leaf hash per entry): any character
  // outside the alphabet, `=` included, before the padding is refused.
  const sextet = (i: number): number => {
    if (i >= data) return 0;
    const code = text.charCodeAt(i);
    const v = code < 128 ? BASE64_CODES[code]! : -1;
    if (v < 0) throw new TypeError('invalid base64 string');
    return v;
  };
  let o = 0;
  for (let i = 0; i < length; i += 4) {
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6) | sextet(i + 3);
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  // Canonical: the bits of the last symbol that fall into the padding must be zero.
  if ((pad === 2 && (sextet(data - 1) & 15) !== 0) || (pad === 1 && (sextet(data - 1) & 3) !== 0)) throw new TypeError('non-canonical base64 string');
  return out;
}

/**
 * Lenient base64 decoding (standard or URL-safe alphabet, padding optional), for fields other
 * producers encode. Still throws on any character outside the alphabet, so a corrupted field is an
 * error rather than silently different bytes.
 */
export function fromBase64Lenient(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  if (clean.length % 4 === 1) throw new Error('invalid base64: bad length');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of clean) {
    const v = LENIENT_BASE64_LOOKUP[c];
    if (v === undefined) throw new Error(`invalid base64: unexpected character ${JSON.stringify(c)}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Constant-time for equal lengths (compares every byte). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const UTF8 = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return UTF8.encode(text);
}
