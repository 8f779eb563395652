/**
 * What the service shows — API answers and log lines — never carries the secrets of destinations or
 * settings (the rules: delivery/redaction.ts). The stored deliveries keep the real values: they must
 * send them.
 */
import { isSecretHeaderName, REDACTED, redactDestination, redactText } from '../delivery/redaction.js';

/** A delivery, status or dead letter as answered: `destination` redacted, `lastError` / `reason` texts too. */
export function shown<T>(record: T): T {
  if (record === null || typeof record !== 'object') return record;
  const copy: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  if ('destination' in copy) copy.destination = redactDestination(copy.destination);
  for (const key of ['lastError', 'reason'] as const) {
    if (typeof copy[key] === 'string') copy[key] = redactText(copy[key]);
  }
  return copy as T;
}

// Keys whose values are secrets wherever they appear in a log object.
const SECRET_KEY = /^(password|passwd|pwd|secret|token|api_?token|api_?key|apikey|authorization|cookie|set-cookie|credentials?)$/i;

/** pino `formatters.log`: objects logged are walked; header maps and secret-named keys are redacted, URLs in strings too. */
export function redactLogObject(object: Record<string, unknown>): Record<string, unknown> {
  return walk(object, 0, false) as Record<string, unknown>;
}

function walk(value: unknown, depth: number, inHeaders: boolean): unknown {
  if (typeof value === 'string') return redactText(value);
  // Errors are left to pino's err serializer; the final line is redacted by redactLogLine.
  if (value === null || typeof value !== 'object' || value instanceof Error || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1, false));
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if ((inHeaders && isSecretHeaderName(key)) || SECRET_KEY.test(key)) copy[key] = item === undefined ? undefined : REDACTED;
    else copy[key] = walk(item, depth + 1, /^headers$/i.test(key));
  }
  return copy;
}

/** pino `hooks.streamWrite`: the serialized line, with URLs (messages, error messages, stacks, bindings) redacted. */
export function redactLogLine(line: string): string {
  return redactText(line);
}

/** The pino options that keep secrets out of the log (logger.ts). */
export const redactingLoggerOptions = {
  formatters: { log: redactLogObject },
  hooks: { streamWrite: redactLogLine },
} as const;
