import { fromBase64 } from '../bytes';

/** DER bytes of a PEM block (e.g. `PUBLIC KEY`); throws on anything else. */
export function pemToDer(pem: string, label = 'PUBLIC KEY'): Uint8Array {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!match) throw new TypeError(`not a PEM ${label}`);
  return fromBase64(match[1]!.replace(/\s+/g, ''));
}
