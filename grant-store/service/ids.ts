import { createHash, hash, randomBytes } from 'node:crypto';

/** 13 random bytes = 26 hex characters: within the id schemas' 16-32 and collision-free in practice. */
const ID_RANDOM_BYTES = 13;

export function newId(prefix: 'req' | 'rev' | 'byp' | 'tok'): string {
  return `${prefix}_${randomBytes(ID_RANDOM_BYTES).toString('hex')}`;
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** One-shot crypto.hash (Node >= 20.12): a third of createHash's cost, and it runs per request (bearer tokens). */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}
