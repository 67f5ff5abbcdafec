import { AppError } from '../../../shared/errors';
import type { ConnectionState } from '../../../shared/ipc/contract';
import type { ConsoleClock } from '../clock';
import type { EventHub } from '../event-hub';

/**
 * Whether the grant store is answering, as the renderer shows it ("offline since …"). Every store
 * call goes through `track()`; the event stream reports its own drops. Emits
 * `console:renderer:connection-changed` on every change.
 */
export class ConnectionTracker {
  private state: ConnectionState = { online: false, offlineSince: null, lastSyncAt: null, lastError: null };

  constructor(
    private readonly clock: ConsoleClock,
    private readonly events: EventHub,
  ) {}

  get current(): ConnectionState {
    return this.state;
  }

  /** Run a store call, keeping the state up to date. */
  async track<T>(call: Promise<T>): Promise<T> {
    try {
      const value = await call;
      this.markOnline();
      return value;
    } catch (error) {
      if (error instanceof AppError && error.code === 'store_unreachable') this.markOffline(error.message);
      // The store answered (with an error of its own): it is reachable. A verification failure is
      // about what it sent, not whether it answered, so it leaves the state alone.
      else if (!(error instanceof AppError) || error.code !== 'verification_failed') this.markOnline();
      throw error;
    }
  }

  markOnline(): void {
    if (this.state.online) return;
    this.set({ ...this.state, online: true, offlineSince: null, lastError: null });
  }

  markOffline(message: string): void {
    if (!this.state.online && this.state.offlineSince) {
      if (this.state.lastError !== message) this.set({ ...this.state, lastError: message });
      return;
    }
    this.set({ ...this.state, online: false, offlineSince: this.clock.now().toISOString(), lastError: message });
  }

  setLastSync(at: string | null): void {
    if (this.state.lastSyncAt !== at) this.set({ ...this.state, lastSyncAt: at });
  }

  private set(next: ConnectionState): void {
    this.state = next;
    this.events.emit('console:renderer:connection-changed', next);
  }
}
