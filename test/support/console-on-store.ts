import { pino } from 'pino';
import { systemClock, type ConsoleClock } from '../../electron/core/clock';
import { composeConsole, type ConsoleCore, type ConsoleOptions } from '../../electron/core/compose-console';

/**
 * A console core as the integration tests run it against a store fixture: the browser host, a
 * silent logger, and the store's clock (so TTLs and challenge windows move with the fixture's
 * manual clock; timers still run on the system clock).
 */
export function consoleOnStore(store: { clock: { now(): Date } }, options: Omit<ConsoleOptions, 'host' | 'logger' | 'clock'>): ConsoleCore {
  const clock: ConsoleClock = { now: () => store.clock.now(), after: systemClock.after };
  return composeConsole({ host: 'browser', logger: pino({ level: 'silent' }), clock, ...options });
}
