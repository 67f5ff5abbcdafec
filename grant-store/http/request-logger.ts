import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';
import type { StoreLogger } from '../logger';

type LogArgs = Parameters<StoreLogger['error']>;

/**
 * `request.log` while request lines are off (no `serve --log`): the store logger's child bound to
 * the request id, built on the first line logged for the request (an internal error, a contract
 * mismatch, a Fastify warning), not for every request.
 *
 * Why not Fastify's own logger: given a logger, Fastify builds a pino child for every request and
 * tracks every response's end (two listeners, two clock reads) only to write the request lines,
 * which are off. That was a measurable share of a gate check answered from memory
 * (docs/scaling.md, "The gate-check hot path"). So without `serve --log` the app gets
 * `logger: false` and this as its child logger factory; with it, the store logger as before.
 */
class LazyRequestLogger {
  private bound: StoreLogger | undefined;

  constructor(
    private readonly parent: StoreLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get log(): StoreLogger {
    return (this.bound ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.bound?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.log.level = level;
  }

  fatal(...args: LogArgs): void {
    this.log.fatal(...args);
  }
  error(...args: LogArgs): void {
    this.log.error(...args);
  }
  warn(...args: LogArgs): void {
    this.log.warn(...args);
  }
  info(...args: LogArgs): void {
    this.log.info(...args);
  }
  debug(...args: LogArgs): void {
    this.log.debug(...args);
  }
  trace(...args: LogArgs): void {
    this.log.trace(...args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.log.child(bindings, options);
  }
}

/**
 * The Fastify logging options of the store's app: with request lines (`serve --log`), Fastify logs
 * through `logger` as usual; without, `logger: false` and request loggers from LazyRequestLogger.
 */
export function requestLogging(logger: StoreLogger, logRequests: boolean): Pick<FastifyServerOptions, 'loggerInstance' | 'logger' | 'logController' | 'childLoggerFactory'> {
  if (logRequests) return { loggerInstance: logger, logController: new LogController({ disableRequestLogging: false }) };
  return {
    logger: false,
    // Fastify 5.12 asks its LogController whether to write request lines, whatever the logger.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify passes its null logger as the parent; the request's logger hangs off the store's.
    childLoggerFactory: (_nullLogger, bindings, options) => new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger,
  };
}
