import { contextBridge, ipcRenderer } from 'electron';

// The PIN window's bridge: read what is being signed, send the PIN or cancel. Nothing else.
const PIN_CHANNELS = { context: 'pin:main:context', submit: 'pin:main:submit', cancel: 'pin:main:cancel' } as const;

contextBridge.exposeInMainWorld(
  'pinPrompt',
  Object.freeze({
    context: () => ipcRenderer.invoke(PIN_CHANNELS.context),
    submit: (pin: string) => ipcRenderer.invoke(PIN_CHANNELS.submit, String(pin)),
    cancel: () => ipcRenderer.invoke(PIN_CHANNELS.cancel),
  }),
);
