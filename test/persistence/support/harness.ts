import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach } from 'vitest';
import {
  ActorSystem,
  inMemoryJournal,
  inMemorySnapshotStore,
  type ActorSystemOptions,
  type AsyncWriteJournal,
  type InMemoryJournal,
  type InMemorySnapshotStore,
  type SnapshotStore,
} from '../../../src/index.js';

/** A promise with its resolve/reject at hand. */
export class Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * Collects values pushed from inside actors; `waitFor(n)` resolves as soon as n values arrived, so
 * tests await events instead of sleeping. It rejects after `timeoutMs` naming what it saw.
 */
export class Recorder<T = unknown> {
  readonly values: T[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  push = (value: T): void => {
    this.values.push(value);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.values.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  };

  async waitFor(count: number, timeoutMs = 5_000): Promise<T[]> {
    if (this.values.length >= count) return this.values;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push({ count, resolve });
        timer = setTimeout(() => reject(new Error(`expected ${count} values within ${timeoutMs} ms, got ${this.values.length}: ${safeJson(this.values)}`)), timeoutMs);
      });
    } finally {
      clearTimeout(timer);
    }
    return this.values;
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, 500);
  } catch {
    return String(value);
  }
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A pino logger whose lines are parsed and kept, so tests can assert on what was logged. */
export function captureLogs(): { logger: pino.Logger; lines: LogLine[]; waitFor(predicate: (line: LogLine) => boolean): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const listeners = new Set<(line: LogLine) => void>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.trim() === '') continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const listener of listeners) listener(line);
      }
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  return {
    logger,
    lines,
    waitFor(predicate) {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`no matching log line within 5000 ms; saw: ${lines.map((l) => l.msg).join(' | ')}`));
        }, 5_000);
        const listener = (line: LogLine): void => {
          if (!predicate(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        listeners.add(listener);
      });
    },
  };
}

/** A logger that drops everything (keeps test output readable). */
export const silentLogger = pino({ level: 'silent' });

const systems: ActorSystem[] = [];

afterEach(async () => {
  await Promise.all(systems.splice(0).map((system) => system.terminate()));
});

export interface TestSystemOptions extends ActorSystemOptions {
  journal?: AsyncWriteJournal;
  snapshotStore?: SnapshotStore;
}

let systemCounter = 0;

/** A system on fresh in-memory plugins (unless given), terminated after the test. */
export function testSystem(options: TestSystemOptions = {}): {
  system: ActorSystem;
  journal: AsyncWriteJournal;
  snapshotStore: SnapshotStore;
} {
  const journal = options.journal ?? inMemoryJournal({ logger: silentLogger });
  const snapshotStore = options.snapshotStore ?? inMemorySnapshotStore();
  const system = ActorSystem.create(`test-${++systemCounter}`, { logger: silentLogger, ...options, journal, snapshotStore });
  systems.push(system);
  return { system, journal, snapshotStore };
}

export function memoryPlugins(): { journal: InMemoryJournal; snapshotStore: InMemorySnapshotStore } {
  return { journal: inMemoryJournal({ logger: silentLogger }), snapshotStore: inMemorySnapshotStore() };
}

/** Settles after every already-queued microtask and one macrotask turn (lets fire-and-forget work land). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
