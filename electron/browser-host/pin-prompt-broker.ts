import { randomBytes } from 'node:crypto';
import { PIN_PROMPT_TIMEOUT_MS, pinCancelled, type PinPrompt, type PinPromptContext } from '../core/pin-prompt';
import type { RendererEventListener } from '../core/console-api';

interface Pending {
  context: PinPromptContext;
  resolve(pin: string): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Longest PIN we accept (PKCS#11 tokens allow up to 255 bytes; PIV uses 6-8 digits). */
export const MAX_PIN_LENGTH = 255;

/**
 * PIN prompts in browser-host mode. Trade-off (documented in the README of the host): the PIN is
 * typed into a static page served by the host (/pin-prompt/<id>), never into the React app, and is
 * posted straight to the host over loopback. That page runs in the same browser profile as the
 * renderer, so it is separated from the React code by being a different document (no shared JS),
 * not by a process boundary as in Electron's separate PIN window. The prompt id is 128 random bits,
 * single use and short-lived, so it acts as the capability for answering that one prompt.
 */
export class BrowserPinPromptBroker implements PinPrompt {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly emit: RendererEventListener, private readonly timeoutMs = PIN_PROMPT_TIMEOUT_MS) {}

  ask(context: PinPromptContext): Promise<string> {
    const promptId = randomBytes(16).toString('hex');
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(promptId, pinCancelled('the PIN prompt timed out')), this.timeoutMs);
      timer.unref();
      this.pending.set(promptId, { context, resolve, reject, timer });
      this.emit('console:renderer:pin-required', {
        promptId,
        url: `/pin-prompt/${promptId}`,
        purpose: context.purpose,
        tokenLabel: context.tokenLabel,
      });
    });
  }

  /** The prompt's context for the static page, or undefined when the id is unknown or settled. */
  describe(promptId: string): PinPromptContext | undefined {
    return this.pending.get(promptId)?.context;
  }

  /** Answer a prompt. Returns false when the id is unknown or already settled. */
  submit(promptId: string, pin: string): boolean {
    return this.settle(promptId, pin);
  }

  cancel(promptId: string): boolean {
    return this.settle(promptId, pinCancelled());
  }

  cancelAll(): void {
    for (const id of [...this.pending.keys()]) this.settle(id, pinCancelled('the console is shutting down'));
  }

  private settle(promptId: string, outcome: string | Error): boolean {
    const pending = this.pending.get(promptId);
    if (!pending) return false;
    this.pending.delete(promptId);
    clearTimeout(pending.timer);
    if (typeof outcome === 'string') pending.resolve(outcome);
    else pending.reject(outcome);
    this.emit('console:renderer:pin-settled', { promptId });
    return true;
  }
}
