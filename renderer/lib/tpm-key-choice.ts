import type { AppError } from '../../shared/errors';
import type { ChannelInput, TpmAnchor, TpmStatus } from '../../shared/ipc/contract';

export type TpmKeyMode = 'generate' | 'select';

/** What the TPM fields hold; `tpmKeyChoice` turns it into the contract's key choice. */
export interface TpmKeyState {
  mode: TpmKeyMode;
  /** select: the existing key's handle. */
  handle: string;
  akHandle: string;
  /** Unset: the endorsement key where the TPM has an EK certificate, else the AK certificate. */
  anchor: TpmAnchor | '';
  akCertificates: string;
  ekIntermediates: string;
}

export const EMPTY_TPM_KEY: TpmKeyState = { mode: 'generate', handle: '', akHandle: '', anchor: '', akCertificates: '', ekIntermediates: '' };

/** The anchor the fields show: the one chosen, else the stronger one (EK) where this TPM offers it. */
export function tpmAnchor(state: TpmKeyState, status: TpmStatus | undefined): TpmAnchor {
  return state.anchor || (status?.ek.available ? 'ek' : 'ak-certificate');
}

/** The key choice for setup / change-key; an unset attestation key falls back to the TPM's only one. */
export function tpmKeyChoice(state: TpmKeyState, status: TpmStatus | undefined): Extract<ChannelInput<'console:main:setup'>['key'], { kind: 'tpm' }> {
  const akHandle = state.akHandle || status?.attestationKeys[0] || '';
  const handle = state.mode === 'select' ? state.handle || status?.signingKeys[0] : undefined;
  const anchor = tpmAnchor(state, status);
  const anchored = anchor === 'ek' ? { anchor, ekIntermediates: state.ekIntermediates } : { anchor, akCertificates: state.akCertificates };
  return { kind: 'tpm', mode: state.mode, akHandle, ...anchored, ...(handle ? { handle } : {}) };
}

/** One line for the TPM choice: what main reaches, or the reason it cannot be used. */
export function tpmChoiceText(status: TpmStatus | undefined, error: AppError | null | undefined): { enabled: boolean; text: string } {
  if (error) return { enabled: false, text: `Not available: the console could not check the TPM (${error.message}).` };
  if (!status) return { enabled: false, text: 'Checking for a TPM…' };
  if (!status.available) return { enabled: false, text: `Not available: ${status.reason}.` };
  const made = `Key made and kept in this machine's TPM${status.manufacturer ? ` (${status.manufacturer})` : ''}`;
  if (status.ek.available) return { enabled: true, text: `${made}, anchored in its endorsement key (EK certificate from ${status.ek.issuer}): can be enrolled as attested.` };
  return { enabled: true, text: `${made}, certified by its attestation key with your attestation CA's certificate (the weaker route: ${status.ek.reason}): can be enrolled as attested.` };
}

