import type { RendererEvent, RendererEventPayload } from '../../shared/ipc/contract';
import type { RendererEventListener } from './console-api';
import { fallbackConsoleLogger, type ConsoleLogger } from './logger';

/** Fans main → renderer events out to every transport listening (Electron windows, browser-host SSE clients, tests). */
export class EventHub {
  private readonly listeners = new Set<RendererEventListener>();

  constructor(private readonly logger: Pick<ConsoleLogger, 'debug'> = fallbackConsoleLogger()) {}

  readonly emit = <E extends RendererEvent>(event: E, payload: RendererEventPayload<E>): void => {
    for (const listener of [...this.listeners]) {
      try {
        listener(event, payload);
      } catch (error) {
        // One broken listener (a closed window, a dropped SSE socket) must not starve the others:
        // its failure is its transport's to notice, so it is only noted here.
        this.logger.debug({ err: error, event }, 'a renderer event listener failed (the other listeners still get the event)');
      }
    }
  };

  subscribe(listener: RendererEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
