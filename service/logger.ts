import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { ServiceConfig } from './config.js';
import { redactingLoggerOptions } from './redaction.js';

/**
 * pino JSON lines on stdout (synchronous, so the last lines before a crash are not lost in a buffer).
 * LOG_PRETTY=1 uses pino-pretty when it is installed; it is not a dependency, so without it the logs
 * stay JSON and one line says so.
 */
export function createLogger(config: Pick<ServiceConfig, 'logLevel' | 'logPretty'>): Logger {
  // Secrets never reach a line: logged objects are walked and the serialized line is redacted (redaction.ts).
  const base = {
    level: config.logLevel,
    base: { service: 'steadfast', pid: process.pid },
    ...redactingLoggerOptions,
  };
  if (!config.logPretty) return pino(base, pino.destination({ dest: 1, sync: true }));
  if (prettyAvailable()) return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  const logger = pino(base, pino.destination({ dest: 1, sync: true }));
  logger.warn('LOG_PRETTY=1 but pino-pretty is not installed (npm install pino-pretty); logging JSON');
  return logger;
}

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}
