import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors';

/**
 * The emergency credential's secret: 32 random bytes (256 bits, beyond any guessing), written for
 * paper as `bgem-` + Crockford base32 in groups of four, with a 16-bit checksum at the end so a
 * typo from the printed sheet is caught on the user's machine before it reaches the store (where
 * an unknown credential raises an alarm). The store keeps only SHA-256 of the 32 bytes.
 */

const SECRET_BYTES = 32;
const CHECKSUM_BYTES = 2;
export const CREDENTIAL_PREFIX = 'bgem';
/** Crockford's base32: no I, L, O, U, so 1/I/L and 0/O read the same. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const DECODE = new Map<string, number>([...ALPHABET].map((c, i) => [c, i] as [string, number]).concat([['i', 1], ['l', 1], ['o', 0]]));

function encodeBase32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Crockford base32 → bytes. `paddingIsZero` is false when the bits left over after the last whole
 * byte are not the zeros the encoder writes: the last character carries only 2 data bits, so
 * without this check a mistyped last character could decode to the very same secret.
 */
function decodeBase32(text: string): { bytes: Uint8Array; paddingIsZero: boolean } | undefined {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text) {
    const v = DECODE.get(ch);
    if (v === undefined) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return { bytes: new Uint8Array(out), paddingIsZero: (value & ((1 << bits) - 1)) === 0 };
}

function checksum(secret: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update('breakglass emergency credential checksum').update(secret).digest().subarray(0, CHECKSUM_BYTES));
}

/** `sha256:<hex>` of the secret bytes: what the store keeps and the ledger records. */
export function credentialDigest(secret: Uint8Array): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex')}`;
}

/** Group into fours for reading aloud and typing from paper. */
function groups(text: string): string {
  return text.match(/.{1,4}/g)!.join('-');
}

export function generateCredential(): { secret: Uint8Array; text: string; digest: string } {
  const secret = new Uint8Array(randomBytes(SECRET_BYTES));
  return { secret, text: formatCredential(secret), digest: credentialDigest(secret) };
}

export function formatCredential(secret: Uint8Array): string {
  const body = encodeBase32(new Uint8Array([...secret, ...checksum(secret)]));
  return `${CREDENTIAL_PREFIX}-${groups(body)}`;
}

/**
 * Read a credential as typed or scanned: case, hyphens and spaces do not matter, and Crockford's
 * look-alikes are accepted. A wrong length, a bad character or a failed checksum is refused
 * naming `field` (a typo, not an attempt: nothing reaches the store).
 */
export function parseCredential(text: string, field = 'credential'): { secret: Uint8Array; digest: string } {
  const fail = (message: string) => new AppError('invalid_input', `${field}: ${message}`, { fieldErrors: [{ path: field, message }] });
  const compact = text.toLowerCase().replace(/[\s-]/g, '');
  if (!compact.startsWith(CREDENTIAL_PREFIX)) throw fail(`an emergency credential starts with ${CREDENTIAL_PREFIX}-`);
  const base32 = decodeBase32(compact.slice(CREDENTIAL_PREFIX.length));
  if (!base32) throw fail('contains a character that is not in an emergency credential (0-9, a-z without u)');
  const decoded = base32.bytes;
  if (decoded.length !== SECRET_BYTES + CHECKSUM_BYTES) throw fail(`has ${compact.length - CREDENTIAL_PREFIX.length} characters after the prefix; a credential has ${Math.ceil(((SECRET_BYTES + CHECKSUM_BYTES) * 8) / 5)}: check the sheet`);
  if (!base32.paddingIsZero) throw fail('the last character cannot end a credential: it was mistyped; compare the last group with the sheet');
  const secret = decoded.subarray(0, SECRET_BYTES);
  const sum = checksum(secret);
  if (sum[0] !== decoded[SECRET_BYTES] || sum[1] !== decoded[SECRET_BYTES + 1]) throw fail('the checksum does not match: a character was mistyped; compare it with the sheet group by group');
  return { secret, digest: credentialDigest(secret) };
}

/** emc_ + 26 hex, like the store's other ids. */
export function newCredentialId(): string {
  return `emc_${randomBytes(13).toString('hex')}`;
}
