/**
 * `LOG_PRETTY=1`: pino's JSON lines turned into one readable line each, without pino-pretty (not a
 * dependency) or a worker thread: `12:04:31.123 INFO  outbox recovered inFlight=3 accepted=10`, an
 * error's stack indented below. Written synchronously like the JSON logs, so the last lines before a
 * crash are not lost. pino has redacted the line before it gets here (redaction.ts).
 */
import { writeSync } from 'node:fs';

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Readonly<Record<number, string>> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line carries, shown by position (time, level, message) or not at all. */
const SHOWN_APART = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'service', 'name']);

export interface PrettyOptions {
  /** ANSI colours for the level. */
  readonly colour?: boolean;
}

/** One pino JSON line as text (with its line feed); a line that is not JSON is passed on unchanged. */
export function prettyLine(json: string, { colour = false }: PrettyOptions = {}): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '--:--:--.---';
  const parts = [time, colour ? `\u001b[${COLOURS[level] ?? '0'}m${name}\u001b[0m` : name, String(entry.msg ?? '')];
  let stack: string | undefined;
  for (const [key, value] of Object.entries(entry)) {
    if (SHOWN_APART.has(key) || value === undefined) continue;
    if (key === 'err' && value !== null && typeof value === 'object') {
      const error = value as { message?: unknown; stack?: unknown };
      parts.push(`err=${quoted(String(error.message ?? ''))}`);
      if (typeof error.stack === 'string') stack = error.stack;
      continue;
    }
    parts.push(`${key}=${typeof value === 'string' ? quoted(value) : JSON.stringify(value)}`);
  }
  const head = parts.join(' ');
  return stack === undefined ? `${head}\n` : `${head}\n${stack.replace(/^/gm, '    ')}\n`;
}

/**
 * A pino destination that writes `prettyLine`s to `sink` (default: stdout, synchronously). Colours by
 * default only on a terminal without NO_COLOR.
 */
export function prettyDestination(sink: (text: string) => void = writeStdout, options: PrettyOptions = {}): { write(line: string): void } {
  const colour = options.colour ?? (sink === writeStdout && process.env.NO_COLOR === undefined && process.stdout.isTTY === true);
  return { write: (line: string) => sink(prettyLine(line, { colour })) };
}

function writeStdout(text: string): void {
  writeSync(1, text);
}

/** Bare when it reads unambiguously, else as a JSON string. */
function quoted(text: string): string {
  return /^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text);
}
