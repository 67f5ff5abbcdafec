import type { AppError } from '../../shared/errors';
import type { ChannelInput, TpmStatus } from '../../shared/ipc/contract';

export type TpmKeyMode = 'generate' | 'select';

/** What the TPM fields hold; `tpmKeyChoice` turns it into the contract's key choice. */
export interface TpmKeyState {
  mode: TpmKeyMode;
  /** select: the existing key's handle. */
  handle: string;
  akHandle: string;
  akCertificates: string;
}

export const EMPTY_TPM_KEY: TpmKeyState = { mode: 'generate', handle: '', akHandle: '', akCertificates: '' };

/** The key choice for setup / change-key; an unset attestation key falls back to the TPM's only one. */
export function tpmKeyChoice(state: TpmKeyState, status: TpmStatus | undefined): Extract<ChannelInput<'console:main:setup'>['key'], { kind: 'tpm' }> {
  const akHandle = state.akHandle || status?.attestationKeys[0] || '';
  const handle = state.mode === 'select' ? state.handle || status?.signingKeys[0] : undefined;
  return { kind: 'tpm', mode: state.mode, akHandle, akCertificates: state.akCertificates, ...(handle ? { handle } : {}) };
}

/** One line for the TPM choice: what main reaches, or the reason it cannot be used. */
export function tpmChoiceText(status: TpmStatus | undefined, error: AppError | null | undefined): { enabled: boolean; text: string } {
  if (error) return { enabled: false, text: `Not available: the console could not check the TPM (${error.message}).` };
  if (!status) return { enabled: false, text: 'Checking for a TPM…' };
  if (!status.available) return { enabled: false, text: `Not available: ${status.reason}.` };
  return { enabled: true, text: `Key made and kept in this machine's TPM${status.manufacturer ? ` (${status.manufacturer})` : ''}, certified by its attestation key: can be enrolled as attested.` };
}

