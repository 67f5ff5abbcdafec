import { AppError, parseOrThrow, toAppError } from '../../shared/errors';
import { mainContract, type IpcResult, type MainChannel } from '../../shared/ipc/contract';
import type { ConsoleHandlers } from './console-api';

export function isMainChannel(value: string): value is MainChannel {
  return Object.prototype.hasOwnProperty.call(mainContract, value);
}

/**
 * The one path every transport takes: parse the raw input with the contract's schema, call the
 * handler, check its output against the contract, and return an IpcResult (never throws).
 * Output is checked too so that a handler bug shows up as an error here, not as a confusing
 * half-shaped object in the renderer.
 */
export async function dispatch(handlers: ConsoleHandlers, channel: string, rawInput: unknown): Promise<IpcResult<unknown>> {
  try {
    if (!isMainChannel(channel)) throw new AppError('not_found', `unknown channel "${channel}"`);
    const spec = mainContract[channel];
    const input = parseOrThrow(spec.input, rawInput ?? {}, `${channel} input`);
    const handler = handlers[channel] as (input: unknown) => Promise<unknown>;
    const output = await handler(input);
    const checked = spec.output.safeParse(output);
    if (!checked.success) {
      throw new AppError('internal', `internal error: ${channel} produced an output that breaks the contract: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return { ok: true, value: checked.data };
  } catch (error) {
    return { ok: false, error: toAppError(error).toBody() };
  }
}
