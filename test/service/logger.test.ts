/**
 * The service's logger: JSON lines by default; with LOG_PRETTY one readable line per entry from the
 * built-in printer (no pino-pretty), secrets still redacted, an error's stack indented below its line;
 * debug lines only at LOG_LEVEL=debug.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../service/config.js';
import { createLogger } from '../../service/logger.js';
import { prettyLine } from '../../service/pretty-log.js';

function captured(env: Record<string, string>): { logger: ReturnType<typeof createLogger>; text: string[] } {
  const text: string[] = [];
  const config = loadConfig(env);
  return { logger: createLogger(config, (chunk) => void text.push(chunk)), text };
}

describe('service logger', () => {
  it('LOG_PRETTY=true prints one readable line per entry, redacted, with the stack of an error below it', () => {
    const { logger, text } = captured({ LOG_PRETTY: 'true', LOG_LEVEL: 'debug' });
    logger.info({ deliveryId: 7, url: 'http://user:hunter2@example.test/hook', note: 'two words' }, 'outbox recovered');
    logger.debug({ deliveryId: 7 }, 'delivery 7: confirmed');
    logger.warn({ err: new Error('connect ECONNREFUSED http://admin:s3cret@db.test') }, 'sending failed');
    expect(text).toHaveLength(3);
    expect(text[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}outbox recovered deliveryId=7 url=\S+ note="two words"\n$/);
    expect(text[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} DEBUG delivery 7: confirmed deliveryId=7\n$/);
    const [head, ...stack] = text[2]!.trimEnd().split('\n');
    expect(head).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}sending failed err="connect ECONNREFUSED \S+"$/);
    expect(stack.length).toBeGreaterThan(1);
    for (const line of stack) expect(line).toMatch(/^ {4}/);
    expect(text.join('')).not.toMatch(/hunter2|s3cret|"level"|\{"/);
    // No colour codes when the sink is not a terminal.
    expect(text.join('')).not.toContain('\u001b[');
  });

  it('logs JSON lines by default, and nothing below the level', () => {
    const { logger, text } = captured({});
    logger.debug('hidden');
    logger.info({ deliveryId: 1 }, 'shown');
    expect(text).toHaveLength(1);
    expect(JSON.parse(text[0]!)).toMatchObject({ level: 30, msg: 'shown', deliveryId: 1, service: 'steadfast' });
  });

  it('prettyLine passes a line that is not JSON through and colours the level only when asked', () => {
    expect(prettyLine('not json')).toBe('not json\n');
    const line = JSON.stringify({ level: 50, time: 0, msg: 'boom', pid: 1, hostname: 'h', service: 'steadfast' });
    expect(prettyLine(line)).toBe('00:00:00.000 ERROR boom\n');
    expect(prettyLine(line, { colour: true })).toBe('00:00:00.000 \u001b[31mERROR\u001b[0m boom\n');
  });
});
