import { pino, type Logger } from 'pino';

export type ConsoleLogger = Logger;

/** Level when nothing else is asked for: problems only (a console in the tray should not chatter). */
export const DEFAULT_CONSOLE_LOG_LEVEL = 'warn';

/**
 * The console's one logger (structured JSON, pino): every caught error that is not returned to a
 * caller is logged once here with context. Electron main and the browser host write it to stderr;
 * tests pass their own (pino to a memory stream, or level `silent`).
 */
export function createConsoleLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): ConsoleLogger {
  const level = options.level ?? process.env.BREAKGLASS_CONSOLE_LOG_LEVEL ?? DEFAULT_CONSOLE_LOG_LEVEL;
  return pino({ name: 'breakglass-console', level }, options.destination ?? pino.destination({ fd: 2, sync: true }));
}

let fallback: ConsoleLogger | undefined;
/**
 * The logger of parts used without one (a signer or an event hub built by a test or a tool): the
 * same JSON lines on stderr. composeConsole hands its own logger down instead where it can.
 */
export function fallbackConsoleLogger(): ConsoleLogger {
  fallback ??= createConsoleLogger();
  return fallback;
}
