import { pino, type Logger } from 'pino';

export type StoreLogger = Logger;

/** Level when nothing else is asked for: problems only. */
export const DEFAULT_STORE_LOG_LEVEL = 'warn';
export const STORE_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type StoreLogLevel = (typeof STORE_LOG_LEVELS)[number];

/**
 * The grant store's one logger (structured JSON lines, pino, on stderr): always on, at `warn`
 * unless told otherwise. Every caught error that is not returned to a caller is logged here once,
 * with context; `serve --log` adds a line per HTTP request (Fastify logs through this logger).
 * Tests pass their own destination (a memory stream) or level `silent`.
 */
export function createStoreLogger(options: { level?: StoreLogLevel; destination?: pino.DestinationStream } = {}): StoreLogger {
  return pino({ name: 'breakglass-store', level: options.level ?? DEFAULT_STORE_LOG_LEVEL }, options.destination ?? pino.destination({ fd: 2, sync: true }));
}

let fallback: StoreLogger | undefined;
/**
 * The logger of parts built without one (a Store or job opened by a test or a CLI command):
 * the same JSON lines on stderr at `warn`. startGrantStore hands its own logger down instead.
 */
export function fallbackStoreLogger(): StoreLogger {
  fallback ??= createStoreLogger();
  return fallback;
}
