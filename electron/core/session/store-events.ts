import type { LedgerEntryType } from '../../../shared/domain/ledger-entry';
import type { ConsoleLogger } from '../logger';
import { SseClient, type SseEvent } from '../sse-client';
import type { Profile } from './profile-store';

export interface StoreEventsDeps {
  fetchImpl?: typeof fetch;
  /** Reconnect tuning (tests). */
  backoff?: { initialBackoffMs?: number; maxBackoffMs?: number };
  logger: ConsoleLogger;
  /** A ledger entry arrived (its type when the data names one, and the entry as sent). */
  onEntry(id: string | undefined, type: LedgerEntryType | undefined, entry: Record<string, unknown> | undefined): void;
  onConnected(): void;
  /** The stream dropped; `wasUp` when it had been connected (a first retry follows), false when a retry failed too. */
  onDropped(reason: string, wasUp: boolean): void;
  /** The store refused the token on the stream (HTTP 401): retrying cannot help. */
  onRejected(reason: string): void;
}

/** The ledger entry an event carries, if its data is one (GET /v1/events sends `event: ledger`). */
function entryOf(event: SseEvent, logger: ConsoleLogger): Record<string, unknown> | undefined {
  if (event.event !== 'ledger') return undefined;
  try {
    const entry = JSON.parse(event.data) as unknown;
    return entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : undefined;
  } catch (error) {
    // Passed on without its entry: the listener still refreshes on it, and reads the ledger itself.
    logger.debug({ err: error, id: event.id }, 'a ledger event whose data is not JSON (handled as an entry of unknown type)');
    return undefined;
  }
}

function entryType(entry: Record<string, unknown> | undefined): LedgerEntryType | undefined {
  return typeof entry?.type === 'string' ? (entry.type as LedgerEntryType) : undefined;
}

/**
 * The store's event stream (GET /v1/events) for the signed-in session: every ledger entry the
 * principal may see, resumed from the profile's last event id after a restart or a drop.
 */
export class StoreEvents {
  private client: SseClient | undefined;

  constructor(private readonly deps: StoreEventsDeps) {}

  connect(profile: Profile, token: string): void {
    void this.stop();
    let up = false;
    const client = new SseClient({
      url: `${profile.storeUrl}/v1/events`,
      headers: () => ({ authorization: `Bearer ${token}` }),
      lastEventId: profile.lastEventId ?? undefined,
      fetchImpl: this.deps.fetchImpl,
      initialBackoffMs: this.deps.backoff?.initialBackoffMs,
      maxBackoffMs: this.deps.backoff?.maxBackoffMs,
      onEvent: (event) => {
        const entry = entryOf(event, this.deps.logger);
        this.deps.onEntry(event.id, entryType(entry), entry);
      },
      onConnectionChange: (connected, error) => {
        const wasUp = up;
        up = connected;
        if (connected) this.deps.onConnected();
        else if (error && /HTTP 401\b/.test(error)) {
          this.deps.logger.warn({ reason: error }, 'the store refused the token on the event stream');
          this.deps.onRejected('the event stream answered HTTP 401');
        } else {
          this.deps.logger.info({ reason: error }, 'event stream dropped; reconnecting');
          this.deps.onDropped(`the event stream dropped: ${error ?? 'unknown'}`, wasUp);
        }
      },
    });
    this.client = client;
    client.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.stop();
  }
}
