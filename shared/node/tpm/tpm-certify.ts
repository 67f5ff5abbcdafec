import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tpmEnrollmentChallenge, type TpmAttestationInput } from '../../domain/identity';
import { certifyCommand, parseCertifyResponse } from '../../tpm/tpm-certify-command';

/**
 * Produce the enrollment attestation of a TPM-resident approver key: a TPM2_Certify by the
 * attestation key (AK) whose qualifying data binds the principal and the time, sent through
 * tpm2-tools' `tpm2_send` to the TPM that `tcti` names (`device:/dev/tpmrm0` for a real one,
 * `swtpm:path=…` for a software TPM). Both keys must be persistent (tpm2_evictcontrol) and have
 * an empty auth value.
 */
export interface TpmCertifyOptions {
  /** TCTI configuration for tpm2-tools (TPM2TOOLS_TCTI). */
  tcti: string;
  /** Persistent handle of the approver key (0x81…). */
  keyHandle: number;
  /** Persistent handle of the attestation key. */
  akHandle: number;
  /** The key's TPM2B_PUBLIC (as `tpm2_create -u` or `tpm2_readpublic -o` writes it). */
  publicArea: Uint8Array;
  /** The AK's certificate (PEM) and any intermediates, as the attestation CA issued them. */
  akCertificates: string[];
  /** The principal the key is being enrolled for. */
  principal: string;
  now: Date;
}

/** Run a tpm2-tools command against the TPM `tcti` names; a failure carries the tool's own message. */
export function runTpmTool(tool: string, args: string[], tcti: string, input?: Uint8Array, cwd?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(tool, args, { env: { ...process.env, TPM2TOOLS_TCTI: tcti }, cwd, encoding: 'buffer', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')} failed: ${stderr.toString().trim() || error.message}`));
      else resolve(stdout);
    });
    if (input) child.stdin?.end(Buffer.from(input));
  });
}

/** TPM2_Certify of `keyHandle` by `akHandle` for `principal` at `now`: the fields both TPM attestation kinds carry. */
export async function tpmCertifyForEnrollment(options: Omit<TpmCertifyOptions, 'akCertificates'>): Promise<Pick<TpmAttestationInput, 'public' | 'certifyInfo' | 'signature' | 'issuedAt'>> {
  const issuedAt = options.now.toISOString();
  const extraData = createHash('sha256').update(tpmEnrollmentChallenge(options.principal, issuedAt)).digest();
  const response = await runTpmTool('tpm2_send', [], options.tcti, certifyCommand(options.keyHandle, options.akHandle, extraData));
  const { certifyInfo, signature } = parseCertifyResponse(new Uint8Array(response));
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return { public: b64(options.publicArea), certifyInfo: b64(certifyInfo), signature: b64(signature), issuedAt };
}

export async function tpmEnrollmentAttestation(options: TpmCertifyOptions): Promise<TpmAttestationInput> {
  return { kind: 'tpm', ...(await tpmCertifyForEnrollment(options)), certificates: options.akCertificates };
}
