import { pino, type Logger } from 'pino';

let shared: Logger | undefined;

/** The logger plugins use when the caller gave none: one pino instance for all of them, made on demand. */
export function defaultLogger(): Logger {
  shared ??= pino({ name: 'steadfast' });
  return shared;
}
