// What `import { contextBridge, ipcRenderer } from 'electron'` gives the preload under test.
type Listener = (...args: unknown[]) => void;

export const exposed: Array<{ key: string; api: unknown }> = [];
export const contextBridge = {
  exposeInMainWorld(key: string, api: unknown): void {
    exposed.push({ key, api });
  },
};

export const invocations: Array<{ channel: string; args: unknown[] }> = [];
export const rendererListeners = new Map<string, Listener[]>();
export const ipcRenderer = {
  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    invocations.push({ channel, args });
    return Promise.resolve({ ok: true, value: { channel } });
  },
  on(channel: string, listener: Listener): void {
    rendererListeners.set(channel, [...(rendererListeners.get(channel) ?? []), listener]);
  },
  removeListener(channel: string, listener: Listener): void {
    rendererListeners.set(channel, (rendererListeners.get(channel) ?? []).filter((l) => l !== listener));
  },
};
