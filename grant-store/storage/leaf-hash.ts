import { createHash } from 'node:crypto';

/** RFC 6962 leaf hash: SHA-256(0x00 || entry bytes). */
export function leafHash(entryBytes: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.from([0x00])).update(entryBytes).digest();
}
