import { AppError } from '../../shared/errors';

/** What the PIN is for, shown to the approver next to the PIN field. */
export interface PinPromptContext {
  /** e.g. "approve req_… (deploy-prod, repo=payments-api)". */
  purpose: string;
  tokenLabel: string;
  keyLabel: string;
  /** 1 on the first ask; higher after a wrong PIN (asked again in place, not from the start). */
  attempt: number;
  /** Why the last PIN was refused and the tries left when the token tells ("Wrong PIN. One try left…"); null on the first ask. */
  previousError: string | null;
}

/**
 * Asks the approver for a hardware token's PIN. Implementations keep the PIN out of the React
 * renderer: Electron opens its own small window (electron/main/pin-prompt-window.ts), the browser
 * host serves a static page (electron/browser-host/pin-prompt-broker.ts). `ask` rejects with
 * pinCancelled() when the approver cancels or the prompt times out.
 */
export interface PinPrompt {
  ask(context: PinPromptContext): Promise<string>;
}

export function pinCancelled(why = 'PIN entry was cancelled'): AppError {
  return new AppError('forbidden', `${why}: nothing was signed`);
}

/** How long a PIN prompt waits for an answer before giving up. */
export const PIN_PROMPT_TIMEOUT_MS = 2 * 60_000;
