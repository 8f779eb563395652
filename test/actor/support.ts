/**
 * Helpers shared by the actor runtime tests: a system per test that is always terminated, a logger
 * that keeps its lines in memory, promises resolved from inside actors, and a guard that fails the
 * suite if anything escaped as an unhandled rejection or uncaught exception.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { ActorSystem, type ActorSystemOptions } from '../../src/actor/index.js';

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly actor?: string;
  readonly [field: string]: unknown;
}

/** A pino logger writing to memory; `lines` holds every line written so far, parsed. */
export function memoryLogger(level = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.length > 0) lines.push(JSON.parse(text) as LogLine);
      }
      callback();
    },
  });
  // pino writes synchronously to a plain Writable, so a line is in `lines` when the call returns.
  return { logger: pino({ level }, stream), lines };
}

const systems: ActorSystem[] = [];

/** A system terminated after the test (failing tests would otherwise leave timers running). */
export function testSystem(options: ActorSystemOptions = {}, name = 'test'): ActorSystem {
  const system = ActorSystem.create(name, { logger: pino({ level: 'silent' }), ...options });
  systems.push(system);
  return system;
}

afterEach(async () => {
  await Promise.all(systems.splice(0).map((system) => system.terminate()));
});

/**
 * No failure inside an actor may crash the process: records every unhandled rejection and uncaught
 * exception while the file's tests run and fails the file if there was any.
 */
export function failOnProcessErrors(): void {
  const escaped: unknown[] = [];
  const onError = (error: unknown): void => {
    escaped.push(error);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onError);
    process.on('uncaughtException', onError);
  });
  afterAll(async () => {
    // Rejections are reported after a macrotask turn; give them one before looking.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
    expect(escaped).toEqual([]);
  });
}

/** Count of live Node timers (setTimeout/setInterval handles), to show an actor's timers were cleared. */
export function activeTimerCount(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

/** Resolves after `ms`: only for waiting out a period in which something must NOT happen. */
export function quietPeriod(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
