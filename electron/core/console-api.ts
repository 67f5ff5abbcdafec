import type { ChannelOutput, MainChannel, ParsedChannelInput, RendererEvent, RendererEventPayload } from '../../shared/ipc/contract';

/**
 * What every transport (Electron ipc.ts, the browser host, tests) needs from the console core:
 * one handler per main channel, receiving input already parsed with the contract schema.
 */
export type ConsoleHandlers = { [C in MainChannel]: (input: ParsedChannelInput<C>) => Promise<ChannelOutput<C>> };

export type RendererEventListener = <E extends RendererEvent>(event: E, payload: RendererEventPayload<E>) => void;

export interface ConsoleBackend {
  readonly handlers: ConsoleHandlers;
  /** Subscribe to main → renderer events; returns an unsubscribe function. */
  subscribe(listener: RendererEventListener): () => void;
}
