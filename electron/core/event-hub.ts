import type { RendererEvent, RendererEventPayload } from '../../shared/ipc/contract';
import type { RendererEventListener } from './console-api';

/** Fans main → renderer events out to every transport listening (Electron windows, browser-host SSE clients, tests). */
export class EventHub {
  private readonly listeners = new Set<RendererEventListener>();

  readonly emit = <E extends RendererEvent>(event: E, payload: RendererEventPayload<E>): void => {
    for (const listener of [...this.listeners]) {
      try {
        listener(event, payload);
      } catch {
        // One broken listener (a closed window, a dropped SSE socket) must not starve the others.
      }
    }
  };

  subscribe(listener: RendererEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
