import { concatBytes } from '../bytes';

/**
 * DSSE v1 Pre-Authentication Encoding:
 * "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths as ASCII decimal byte counts.
 * What is signed is this encoding, never the bare payload, so the payload type is covered too.
 * See https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const encoder = new TextEncoder();
  const typeBytes = encoder.encode(payloadType);
  return concatBytes(
    encoder.encode(`DSSEv1 ${typeBytes.length} `),
    typeBytes,
    encoder.encode(` ${payload.length} `),
    payload,
  );
}
