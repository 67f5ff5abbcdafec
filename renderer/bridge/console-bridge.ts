import type {
  ChannelInput,
  ChannelOutput,
  IpcResult,
  MainChannel,
  RendererEvent,
  RendererEventPayload,
} from '../../shared/ipc/contract';
import { AppError } from '../../shared/errors';

/**
 * What screens talk to: one typed `call` per contract channel and `on` for renderer events.
 * A failed call rejects with an AppError (code, message, fieldErrors) so react-query can hold it
 * as data; a broken transport becomes `store_unreachable`-style AppErrors too, never raw text.
 */
export interface ConsoleBridge {
  readonly transport: 'electron' | 'browser';
  call<C extends MainChannel>(channel: C, input: ChannelInput<C>): Promise<ChannelOutput<C>>;
  on<E extends RendererEvent>(event: E, callback: (payload: RendererEventPayload<E>) => void): () => void;
  /** Browser host only: the host refused this page's link token (restarted, or a new link was printed). */
  onLinkInvalid?(callback: () => void): () => void;
}

/** Result → value, or throw the AppError it carries. */
export function unwrap<T>(result: IpcResult<T>): T {
  if (result.ok) return result.value;
  throw AppError.fromBody(result.error);
}

/** Anything thrown becomes an AppError so the UI renders one error shape. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error && typeof error === 'object' && 'code' in error && 'message' in error) {
    const e = error as { code: string; message: string; fieldErrors?: { path: string; message: string }[] };
    return new AppError(e.code as AppError['code'], e.message, { fieldErrors: e.fieldErrors });
  }
  return new AppError('internal', error instanceof Error ? error.message : String(error));
}
