import { AppError } from '../../../shared/errors';
import type { ConnectionState, SessionStatus } from '../../../shared/ipc/contract';
import type { ConsoleClock } from '../clock';
import type { EventHub } from '../event-hub';

/** What the tracker knows, before it is folded into the one status the renderer and tray show. */
interface Facts {
  reach: 'online' | 'reconnecting' | 'offline';
  reachSince: string | null;
  lastError: string | null;
  /** The store refused the token (revoked, expired): nothing works until the user signs in again. */
  rejected: { at: string; message: string } | null;
  /** The store halted its ledger (integrity check failed): it refuses writes. */
  halted: { at: string; message: string } | null;
  /** Whether the profile's key is enrolled; null while unknown (not set up, whoami not read yet). */
  enrolled: boolean | null;
  lastSyncAt: string | null;
}

/** The one session status, most serious first, with one plain sentence for sidebar, banner and tray. */
export function sessionStatus(facts: Facts): { status: SessionStatus; since: string | null; text: string } {
  if (facts.rejected) return { status: 'token_rejected', since: facts.rejected.at, text: `The store rejected your API token (${facts.rejected.message}): sign in again` };
  if (facts.halted) return { status: 'log_halted', since: facts.halted.at, text: `The store halted its ledger: ${facts.halted.message}` };
  if (facts.reach === 'offline') return { status: 'offline', since: facts.reachSince, text: `Offline since ${facts.reachSince ?? 'start-up'}${facts.lastError ? `: ${facts.lastError}` : ''}` };
  if (facts.reach === 'reconnecting') return { status: 'reconnecting', since: facts.reachSince, text: `Reconnecting to the store${facts.lastError ? ` (${facts.lastError})` : ''}` };
  if (facts.enrolled === false) return { status: 'key_not_enrolled', since: null, text: 'Connected; your signing key is not enrolled yet, so decisions cannot be signed' };
  return { status: 'connected', since: null, text: 'Connected' };
}

/**
 * The console's session state machine, as the renderer and the tray show it. Every store call goes
 * through `track()`; the event stream reports drops (first a retry: reconnecting; a failed retry:
 * offline since T) and refusals of the token; the session reports enrollment. Emits
 * `console:renderer:connection-changed` on every change.
 */
export class ConnectionTracker {
  private facts: Facts = { reach: 'offline', reachSince: null, lastError: null, rejected: null, halted: null, enrolled: null, lastSyncAt: null };
  private state: ConnectionState = this.fold();
  private readonly listeners = new Set<(state: ConnectionState, previous: ConnectionState) => void>();

  constructor(
    private readonly clock: ConsoleClock,
    private readonly events: EventHub,
  ) {}

  get current(): ConnectionState {
    return this.state;
  }

  /** Called on every change of the state (tray, notifications). */
  onChange(listener: (state: ConnectionState, previous: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Run a store call, keeping the state up to date. */
  async track<T>(call: Promise<T>): Promise<T> {
    try {
      const value = await call;
      this.markOnline();
      return value;
    } catch (error) {
      if (error instanceof AppError && error.code === 'store_unreachable') this.markOffline(error.message);
      else if (error instanceof AppError && error.code === 'unauthenticated') this.markTokenRejected(error.message);
      // The store answered (with an error of its own): it is reachable. A verification failure is
      // about what it sent, not whether it answered, so it leaves the state alone.
      else if (!(error instanceof AppError) || error.code !== 'verification_failed') this.markOnline();
      throw error;
    }
  }

  markOnline(): void {
    this.update({ reach: 'online', reachSince: null, lastError: null });
  }

  /** The event stream dropped after it was up: a retry is under way. Calls may still work. */
  markReconnecting(message: string): void {
    if (this.facts.reach === 'offline') return this.update({ lastError: message });
    this.update({ reach: 'reconnecting', reachSince: this.facts.reach === 'reconnecting' ? this.facts.reachSince : this.now(), lastError: message });
  }

  markOffline(message: string): void {
    const since = this.facts.reach === 'online' || !this.facts.reachSince ? this.now() : this.facts.reachSince;
    this.update({ reach: 'offline', reachSince: since, lastError: message });
  }

  markTokenRejected(message: string): void {
    if (this.facts.rejected) return;
    this.update({ rejected: { at: this.now(), message } });
  }

  markLogHalted(message: string | null): void {
    if (message === null) return this.update({ halted: null });
    if (this.facts.halted?.message === message) return;
    this.update({ halted: { at: this.now(), message } });
  }

  setEnrolled(enrolled: boolean | null): void {
    this.update({ enrolled });
  }

  setLastSync(at: string | null): void {
    this.update({ lastSyncAt: at });
  }

  /** A new session (setup, sign-out): forget the last one's refusals and enrollment. */
  reset(): void {
    this.update({ rejected: null, halted: null, enrolled: null });
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  private fold(): ConnectionState {
    const f = this.facts;
    const { status, since, text } = sessionStatus(f);
    // `online` keeps its meaning for every screen: store-bound actions are possible right now.
    const online = (f.reach === 'online' || f.reach === 'reconnecting') && !f.rejected;
    return {
      status,
      statusSince: since,
      statusText: text,
      online,
      offlineSince: online ? null : (f.rejected?.at ?? f.reachSince),
      lastSyncAt: f.lastSyncAt,
      lastError: online ? null : (f.rejected?.message ?? f.lastError),
    };
  }

  private update(patch: Partial<Facts>): void {
    const next = { ...this.facts, ...patch };
    if (JSON.stringify(next) === JSON.stringify(this.facts)) return;
    this.facts = next;
    const previous = this.state;
    this.state = this.fold();
    if (JSON.stringify(previous) === JSON.stringify(this.state)) return;
    this.events.emit('console:renderer:connection-changed', this.state);
    for (const listener of this.listeners) listener(this.state, previous);
  }
}
