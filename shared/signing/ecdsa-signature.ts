/**
 * ECDSA signature encodings. PKCS#11 (CKM_ECDSA) and WebCrypto return the raw r‖s form
 * (two big-endian integers of the curve's size); X.509, Sigstore bundles and Node's
 * crypto.verify default use ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }`.
 */

/** P-256 scalar size in bytes: raw signatures are 2 × this. */
export const P256_SCALAR_BYTES = 32;

const DER_SEQUENCE = 0x30;
const DER_INTEGER = 0x02;

/** Raw r‖s → DER. `raw` must hold two equal-length halves. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new Error(`raw ECDSA signature has odd or zero length ${raw.length}`);
  const half = raw.length / 2;
  const r = derInteger(raw.subarray(0, half));
  const s = derInteger(raw.subarray(half));
  const body = new Uint8Array(r.length + s.length);
  body.set(r, 0);
  body.set(s, r.length);
  return concat([DER_SEQUENCE], derLength(body.length), body);
}

/** DER → raw r‖s with each integer left-padded to `scalarBytes` (32 for P-256). */
export function ecdsaDerToRaw(der: Uint8Array, scalarBytes: number = P256_SCALAR_BYTES): Uint8Array {
  let pos = 0;
  const expect = (cond: boolean, what: string) => {
    if (!cond) throw new Error(`malformed DER ECDSA signature: ${what}`);
  };
  expect(der[pos++] === DER_SEQUENCE, 'expected SEQUENCE');
  const seqLen = readLength();
  expect(pos + seqLen === der.length, 'SEQUENCE length does not match the signature length');
  const r = readInteger();
  const s = readInteger();
  expect(pos === der.length, 'trailing bytes');
  const out = new Uint8Array(scalarBytes * 2);
  out.set(r, scalarBytes - r.length);
  out.set(s, 2 * scalarBytes - s.length);
  return out;

  function readLength(): number {
    const first = der[pos++];
    expect(first !== undefined, 'truncated length');
    if (first! < 0x80) return first!;
    const count = first! & 0x7f;
    expect(count >= 1 && count <= 2, 'unsupported length encoding');
    let len = 0;
    for (let i = 0; i < count; i++) {
      const b = der[pos++];
      expect(b !== undefined, 'truncated length');
      len = (len << 8) | b!;
    }
    return len;
  }

  function readInteger(): Uint8Array {
    expect(der[pos++] === DER_INTEGER, 'expected INTEGER');
    const len = readLength();
    expect(len >= 1 && pos + len <= der.length, 'INTEGER length out of range');
    let value = der.subarray(pos, pos + len);
    pos += len;
    expect((value[0]! & 0x80) === 0, 'negative INTEGER');
    // Strip the sign-padding zero(s); a well-formed scalar then fits the curve size.
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    expect(value.length <= scalarBytes, `INTEGER longer than ${scalarBytes} bytes`);
    return value;
  }
}

function derInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  let value = bytes.subarray(start);
  // A set high bit would read as negative: prepend a zero byte.
  if ((value[0]! & 0x80) !== 0) value = concat([0], value);
  return concat([DER_INTEGER], derLength(value.length), value);
}

function derLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  if (len < 0x100) return Uint8Array.of(0x81, len);
  return Uint8Array.of(0x82, len >> 8, len & 0xff);
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of arrays) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
