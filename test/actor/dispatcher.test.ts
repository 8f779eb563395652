import { describe, expect, it } from 'vitest';
import { Actor } from '../../src/actor/index.js';
import { deferred, failOnProcessErrors, testSystem } from './support.js';

failOnProcessErrors();

/** Work that takes a few microseconds, so that a flood of messages lasts long enough to measure. */
function spin(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

describe('one message at a time', () => {
  it('never interleaves async receives: each handler ends before the next starts', async () => {
    const system = testSystem();
    const events: string[] = [];
    const done = deferred();
    const total = 30;
    const ref = system.actorOf(
      () =>
        new (class extends Actor {
          async receive(message: unknown): Promise<void> {
            const n = message as number;
            events.push(`start ${n}`);
            // Awaiting a real timer hands the event loop to everything else in between.
            await new Promise((resolve) => setTimeout(resolve, n % 3));
            await Promise.resolve();
            events.push(`end ${n}`);
            if (n === total - 1) done.resolve();
          }
        })(),
    );
    // From several places at once: synchronously, from a timer and from a microtask.
    for (let n = 0; n < 10; n++) ref.tell(n);
    queueMicrotask(() => {
      for (let n = 10; n < 20; n++) ref.tell(n);
    });
    setTimeout(() => {
      for (let n = 20; n < total; n++) ref.tell(n);
    }, 1);
    await done.promise;
    expect(events).toEqual(Array.from({ length: total }, (_, n) => [`start ${n}`, `end ${n}`]).flat());
  });

  it('handles no message until an async preStart settled', async () => {
    const system = testSystem();
    const events: string[] = [];
    const ref = system.actorOf(
      () =>
        new (class extends Actor {
          override async preStart(): Promise<void> {
            events.push('preStart begins');
            await new Promise((resolve) => setTimeout(resolve, 10));
            events.push('preStart ends');
          }

          receive(message: unknown): void {
            events.push(`got ${String(message)}`);
            this.sender.tell('ok');
          }
        })(),
    );
    ref.tell('early');
    await ref.ask('asked');
    expect(events).toEqual(['preStart begins', 'preStart ends', 'got early', 'got asked']);
  });
});

describe('fairness', () => {
  const floodSize = 100_000;

  /** Floods one actor, then checks another actor and a timer get their turn long before the flood ends. */
  async function floodAndProbe(async: boolean): Promise<void> {
    const system = testSystem();
    const flood = { handled: 0 };
    const floodDone = deferred();
    const floodRef = system.actorOf(
      () =>
        new (class extends Actor {
          receive(): void | Promise<void> {
            spin(300);
            flood.handled++;
            if (flood.handled === floodSize) floodDone.resolve();
            // An async receive whose promise settles in a microtask: the flood never leaves the microtask queue by itself.
            return async ? Promise.resolve() : undefined;
          }
        })(),
      'flood',
    );
    const seenByOther: Record<string, number> = {};
    const otherDone = deferred();
    const other = system.actorOf(
      () =>
        new (class extends Actor {
          receive(message: unknown): void {
            seenByOther[message as string] = flood.handled;
            if (message === 'from timer') otherDone.resolve();
          }
        })(),
      'other',
    );
    // Let both actors start before the flood, so the flood is the only thing in the way.
    other.tell('warm-up');
    floodRef.tell('warm-up');
    await new Promise((resolve) => setImmediate(resolve));
    flood.handled = 0;

    for (let i = 0; i < floodSize; i++) floodRef.tell(i);
    other.tell('queued after the flood');
    let timerFiredAt = -1;
    setTimeout(() => {
      timerFiredAt = flood.handled;
      other.tell('from timer');
    }, 0);

    await otherDone.promise;
    await floodDone.promise;
    // The other actor's message, queued behind 100k, waited for a bounded batch, not for the flood.
    expect(seenByOther['queued after the flood']).toBeLessThan(1000);
    // The timer fired while the flood was still going (the runtime yielded to the event loop) ...
    expect(timerFiredAt).toBeGreaterThanOrEqual(0);
    expect(timerFiredAt).toBeLessThan(floodSize / 2);
    // ... and the message it sent was handled soon after, still long before the flood ended.
    expect(seenByOther['from timer']! - timerFiredAt).toBeLessThan(5000);
  }

  it('a flood of 100k messages to one actor does not starve another actor or timers (sync receive)', async () => {
    await floodAndProbe(false);
  });

  it('a flood of 100k messages to one actor does not starve another actor or timers (async receive)', async () => {
    await floodAndProbe(true);
  });

  it('two actors playing ping-pong forever leave room for timers and I/O', async () => {
    const system = testSystem();
    let exchanged = 0;
    let stop = false;
    class Player extends Actor {
      receive(message: unknown): void {
        exchanged++;
        if (!stop) this.sender.tell(message, this.self);
      }
    }
    const a = system.actorOf(() => new Player(), 'a');
    const b = system.actorOf(() => new Player(), 'b');
    a.tell('ball', b);
    // Each of these needs the event loop to turn: a timer and a setImmediate. Both come while the game
    // goes on (it never ends by itself): the ball was played before the timer, and between the timer
    // and the immediate. How many times depends on the machine's speed, so only that it moved counts.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const afterTimer = exchanged;
    await new Promise((resolve) => setImmediate(resolve));
    const afterImmediate = exchanged;
    stop = true;
    expect(afterTimer).toBeGreaterThan(0);
    expect(afterImmediate).toBeGreaterThan(afterTimer);
  });
});
