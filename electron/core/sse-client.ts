import { TextDecoder } from 'node:util';
import { fallbackConsoleLogger } from './logger';

/** First reconnect delay after the stream drops. */
export const SSE_INITIAL_BACKOFF_MS = 500;
/** Reconnect delay cap: a store down for an hour is retried every ~30 s, not hammered. */
export const SSE_MAX_BACKOFF_MS = 30_000;
/** How many recent non-numeric event ids are remembered for de-duplication. */
const SEEN_IDS_LIMIT = 10_000;

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseClientOptions {
  url: string;
  /** Headers for each (re)connection, e.g. the bearer token (read fresh each time). */
  headers: () => Record<string, string>;
  onEvent: (event: SseEvent) => void;
  /** Connected (true) after a 200 response; false with the reason when the stream fails. */
  onConnectionChange?: (connected: boolean, error?: string) => void;
  /** Resume point from a previous run (the last id handled). */
  lastEventId?: string;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  fetchImpl?: typeof fetch;
  /** Injected for tests: returns [0, 1). */
  random?: () => number;
}

/**
 * Server-sent events over fetch streaming (EventSource cannot send an Authorization header).
 * Reconnects with exponential backoff and full jitter, resumes with `Last-Event-ID`, and drops any
 * event whose id it has already handled, so a handler sees every event exactly once even when the
 * server replays around a reconnect.
 */
export class SseClient {
  private lastId: string | undefined;
  private lastNumericId = -1;
  private readonly seen = new Set<string>();
  private controller: AbortController | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private attempt = 0;

  constructor(private readonly options: SseClientOptions) {
    if (options.lastEventId !== undefined) this.remember(options.lastEventId);
  }

  get lastEventId(): string | undefined {
    return this.lastId;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.controller?.abort();
    this.wake?.();
    await this.loop;
  }

  /** Skip the current backoff wait and reconnect now (e.g. the OS reports the network is back). */
  reconnectNow(): void {
    this.attempt = 0;
    this.wake?.();
  }

  /** Delay before reconnect attempt n (0-based): full jitter over an exponentially growing window. */
  backoffDelay(attempt: number): number {
    const initial = this.options.initialBackoffMs ?? SSE_INITIAL_BACKOFF_MS;
    const max = this.options.maxBackoffMs ?? SSE_MAX_BACKOFF_MS;
    const window = Math.min(max, initial * 2 ** attempt);
    const random = this.options.random ?? Math.random;
    // Half fixed, half random: never zero (no tight loop), still spreads a fleet of consoles apart.
    return Math.round(window / 2 + (random() * window) / 2);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.connectOnce();
        if (this.running) this.options.onConnectionChange?.(false, 'the event stream ended');
      } catch (error) {
        if (!this.running) break;
        this.options.onConnectionChange?.(false, describe(error));
      }
      if (!this.running) break;
      await this.sleep(this.backoffDelay(this.attempt));
      this.attempt++;
    }
  }

  private async connectOnce(): Promise<void> {
    this.controller = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream', ...this.options.headers() };
    if (this.lastId !== undefined) headers['last-event-id'] = this.lastId;
    const response = await (this.options.fetchImpl ?? fetch)(this.options.url, { headers, signal: this.controller.signal });
    if (!response.ok || !response.body) {
      // Releasing the refused response's body: if that fails too, the error below says all there is.
      await response.body?.cancel().catch((error: unknown) => fallbackConsoleLogger().debug({ err: error }, 'releasing a refused event-stream answer failed (ignored: its HTTP status is reported next)'));
      throw new Error(`the event stream answered HTTP ${response.status}`);
    }
    this.attempt = 0;
    this.options.onConnectionChange?.(true);
    const decoder = new TextDecoder();
    let buffer = '';
    let event = { id: undefined as string | undefined, type: '', data: [] as string[] };
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: RegExpExecArray | null;
        while ((newline = /\r\n|\n|\r/.exec(buffer)) !== null) {
          // A lone \r at the end may be the first half of \r\n: wait for more bytes.
          if (newline[0] === '\r' && newline.index === buffer.length - 1) break;
          const line = buffer.slice(0, newline.index);
          buffer = buffer.slice(newline.index + newline[0].length);
          if (line === '') {
            if (event.data.length > 0) this.deliver({ id: event.id, event: event.type || 'message', data: event.data.join('\n') });
            event = { id: undefined, type: '', data: [] };
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'event') event.type = value;
          else if (field === 'data') event.data.push(value);
          else if (field === 'id' && !value.includes('\0')) event.id = value;
        }
      }
    } finally {
      reader.releaseLock();
    }
  }

  private deliver(event: SseEvent): void {
    if (event.id !== undefined) {
      if (this.alreadySeen(event.id)) return;
      this.remember(event.id);
    }
    this.options.onEvent(event);
  }

  private alreadySeen(id: string): boolean {
    if (/^\d+$/.test(id)) return Number(id) <= this.lastNumericId;
    return this.seen.has(id);
  }

  private remember(id: string): void {
    this.lastId = id;
    if (/^\d+$/.test(id)) {
      this.lastNumericId = Math.max(this.lastNumericId, Number(id));
      return;
    }
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS_LIMIT) this.seen.delete(this.seen.values().next().value as string);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return (error.cause as Error | undefined)?.message ?? error.message;
  return String(error);
}
