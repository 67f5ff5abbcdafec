import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { MAIN_METHODS, RENDERER_EVENT_NAMES } from '../../shared/ipc/channels';

/**
 * The console's whole bridge: one method per main channel (input in, IpcResult out) and `on()` for
 * the renderer events. Nothing else: never `ipcRenderer` itself, never a generic invoke. Main
 * parses every payload and checks the sender, so this file holds no logic worth attacking.
 */
export function buildBreakglassApi(renderer: Pick<typeof ipcRenderer, 'invoke' | 'on' | 'removeListener'>): Record<string, unknown> {
  const api: Record<string, unknown> = {};
  for (const [method, channel] of Object.entries(MAIN_METHODS)) {
    api[method] = (input?: unknown) => renderer.invoke(channel, input ?? {});
  }
  const events: readonly string[] = RENDERER_EVENT_NAMES;
  api.on = (event: string, callback: (payload: unknown) => void) => {
    if (!events.includes(event)) throw new Error(`unknown console event "${event}"`);
    if (typeof callback !== 'function') throw new Error('callback must be a function');
    // Never hand the IpcRendererEvent (it carries `sender`) to the page: only the payload.
    const listener = (_event: IpcRendererEvent, payload: unknown) => callback(payload);
    renderer.on(event, listener);
    return () => {
      renderer.removeListener(event, listener);
    };
  };
  return Object.freeze(api);
}

contextBridge.exposeInMainWorld('breakglass', buildBreakglassApi(ipcRenderer));
