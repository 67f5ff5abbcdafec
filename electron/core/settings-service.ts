import type { ParsedChannelInput, Settings } from '../../shared/ipc/contract';
import type { ConsoleClock } from './clock';
import type { SettingsStore } from './settings';
import type { SigningKeys } from './signers/signing-keys';

/** Settings as the console applies them: the PIN cache window reopens the token signer; OS-level ones go to the host. */
export class SettingsService {
  constructor(
    private readonly store: SettingsStore,
    private readonly keys: SigningKeys,
    private readonly clock: ConsoleClock,
    /** Electron: apply settings that touch the OS (login item). */
    private readonly applied?: (settings: Settings) => void,
  ) {}

  get(): Promise<Settings> {
    return this.store.get();
  }

  async update(input: ParsedChannelInput<'console:main:update-settings'>): Promise<Settings> {
    const next = await this.store.update(input);
    // The cache window is fixed when a signer opens: reopen it with the new one (and forget the PIN).
    if (input.pinCacheMinutes !== undefined) this.keys.reset();
    this.applied?.(next);
    return next;
  }

  /** Pause notifications (except sev1) for `minutes` from now; 0 resumes them. */
  pause(minutes: number): Promise<Settings> {
    return this.update({ pauseUntil: minutes === 0 ? null : new Date(this.clock.now().getTime() + minutes * 60_000).toISOString() });
  }
}
