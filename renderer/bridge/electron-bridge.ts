import { MAIN_METHODS, type BreakglassApi, type MainChannel, type MainMethod } from '../../shared/ipc/contract';
import { unwrap, type ConsoleBridge } from './console-bridge';

const METHOD_BY_CHANNEL = Object.fromEntries(Object.entries(MAIN_METHODS).map(([method, channel]) => [channel, method])) as Record<
  MainChannel,
  MainMethod
>;

/** The Electron preload's `window.breakglass` (contextBridge): one method per channel. */
export function electronBridge(api: BreakglassApi): ConsoleBridge {
  return {
    transport: 'electron',
    async call(channel, input) {
      const method = api[METHOD_BY_CHANNEL[channel]] as (input: unknown) => Promise<Parameters<typeof unwrap>[0]>;
      return unwrap(await method(input)) as never;
    },
    on: (event, callback) => api.on(event, callback),
  };
}
