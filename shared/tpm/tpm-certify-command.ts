import { TPM_ALG, TpmReader, readTpmtSignature } from './tpm-structures';

/**
 * TPM2_Certify as raw command bytes (TPM 2.0 Library Part 3, 18.2), for a TPM reached through
 * `tpm2_send`: tpm2-tools 5.4's `tpm2_certify` cannot set the qualifying data, and the
 * enrollment needs it (extraData binds the certification to the principal and a time).
 *
 * Both keys are authorized with an empty password session (TPM_RS_PW): the certified key and the
 * attestation key are created without an auth value for this (userWithAuth with an empty auth).
 */

const TPM_ST_SESSIONS = 0x8002;
const TPM_CC_CERTIFY = 0x00000148;
const TPM_RS_PW = 0x40000009;

function u16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}
function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** TPMS_AUTH_COMMAND for the password session with an empty password. */
const EMPTY_PASSWORD_AUTH = [...u32(TPM_RS_PW), ...u16(0), 0, ...u16(0)];

/**
 * The command: certify `objectHandle` (the approver key) with `signHandle` (the attestation
 * key), carrying `qualifyingData` (at most 64 bytes: a digest) as extraData; the signing scheme
 * is the AK's own (TPM_ALG_NULL).
 */
export function certifyCommand(objectHandle: number, signHandle: number, qualifyingData: Uint8Array): Uint8Array {
  if (qualifyingData.length > 64) throw new Error('qualifying data is at most 64 bytes (a digest)');
  const auths = [...EMPTY_PASSWORD_AUTH, ...EMPTY_PASSWORD_AUTH];
  const body = [...u32(objectHandle), ...u32(signHandle), ...u32(auths.length), ...auths, ...u16(qualifyingData.length), ...qualifyingData, ...u16(TPM_ALG.NULL)];
  return Uint8Array.from([...u16(TPM_ST_SESSIONS), ...u32(10 + body.length), ...u32(TPM_CC_CERTIFY), ...body]);
}

/** What TPM2_Certify returns: the TPMS_ATTEST bytes (inside the TPM2B_ATTEST) and the TPMT_SIGNATURE bytes. */
export interface CertifyResult {
  certifyInfo: Uint8Array;
  signature: Uint8Array;
}

/** Split a TPM2_Certify response; a TPM error code becomes an Error naming it. */
export function parseCertifyResponse(response: Uint8Array): CertifyResult {
  const r = new TpmReader(response, 'the TPM2_Certify response');
  const tag = r.u16('tag');
  const size = r.u32('responseSize');
  const rc = r.u32('responseCode');
  if (rc !== 0) throw new Error(`TPM2_Certify failed: TPM response code 0x${rc.toString(16).padStart(8, '0')} (decode it with \`tpm2_rc_decode 0x${rc.toString(16)}\`)`);
  if (size !== response.length) throw new Error(`TPM2_Certify response says ${size} bytes but has ${response.length}`);
  if (tag === TPM_ST_SESSIONS) r.u32('parameterSize');
  const certifyInfo = r.sized('certifyInfo');
  const sigStart = r.offset;
  readTpmtSignature(r);
  return { certifyInfo, signature: response.slice(sigStart, r.offset) };
}
