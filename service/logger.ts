import pino, { type Logger } from 'pino';
import type { ServiceConfig } from './config.js';
import { prettyDestination } from './pretty-log.js';
import { redactingLoggerOptions } from './redaction.js';

/**
 * pino JSON lines on stdout (synchronous, so the last lines before a crash are not lost in a buffer);
 * LOG_PRETTY=1 prints the same lines readable (pretty-log.ts, built in: no pino-pretty needed).
 *
 * What is logged where: at `info` the node's life (start, recovery, role changes, shutdown) and what
 * an operator did or must act on (redrives, cancellations at info; dead letters, failing destinations
 * at warn) — nothing per message on the happy path; at `debug` one line per state change of a
 * delivery (accepted and sent, attempt failed, confirmed).
 *
 * `sink`: where the text goes instead of stdout (tests).
 */
export function createLogger(config: Pick<ServiceConfig, 'logLevel' | 'logPretty'>, sink?: (text: string) => void): Logger {
  // Secrets never reach a line: logged objects are walked and the serialized line is redacted (redaction.ts).
  const base = {
    level: config.logLevel,
    base: { service: 'steadfast', pid: process.pid },
    ...redactingLoggerOptions,
  };
  if (config.logPretty) return pino(base, prettyDestination(sink));
  return pino(base, sink === undefined ? pino.destination({ dest: 1, sync: true }) : { write: sink });
}
