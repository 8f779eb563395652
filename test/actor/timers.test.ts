import { describe, expect, it } from 'vitest';
import { Actor, oneForOneStrategy, type ActorRef } from '../../src/actor/index.js';
import { activeTimerCount, deferred, failOnProcessErrors, quietPeriod, testSystem, type Deferred } from './support.js';

failOnProcessErrors();

/** Lets the test drive an actor's timers by sending it functions; records every other message. */
class TimerActor extends Actor {
  readonly received: unknown[] = [];

  constructor(
    private readonly onMessage: (message: unknown, received: readonly unknown[]) => void = () => {},
    private readonly history: unknown[] = [],
  ) {
    super();
  }

  async receive(message: unknown): Promise<void> {
    if (typeof message === 'function') {
      this.sender.tell(await (message as (self: TimerActor) => unknown)(this));
      return;
    }
    this.received.push(message);
    this.history.push(message);
    this.onMessage(message, this.received);
  }
}

type Script = (actor: TimerActor) => unknown;

/** Resolves after `ms` on a Node timer created now: one created earlier with the same delay fires first. */
function afterSameDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('timers', () => {
  it('a single timer sends its message once, then is no longer active', async () => {
    const system = testSystem();
    const got = deferred<unknown>();
    const ref = system.actorOf(() => new TimerActor((message) => got.resolve(message)));
    const started = performance.now();
    expect(
      await ref.ask(((self) => {
        self.context.timers.startSingleTimer('once', 'tick', 30);
        return self.context.timers.isTimerActive('once');
      }) satisfies Script),
    ).toBe(true);
    expect(await got.promise).toBe('tick');
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(await ref.ask(((self) => self.context.timers.isTimerActive('once')) satisfies Script)).toBe(false);
  });

  it('a periodic timer repeats until cancelled by key', async () => {
    const system = testSystem();
    const threeTicks = deferred();
    const ref = system.actorOf(
      () =>
        new TimerActor((_message, received) => {
          if (received.length === 3) threeTicks.resolve();
        }),
    );
    await ref.ask(((self) => self.context.timers.startPeriodicTimer('beat', 'tick', 5)) satisfies Script);
    await threeTicks.promise;
    const timersBefore = activeTimerCount();
    const countAtCancel = await ref.ask<number>(((self) => {
      self.context.timers.cancel('beat');
      return self.received.length;
    }) satisfies Script);
    expect(activeTimerCount()).toBe(timersBefore - 1);
    await quietPeriod(40);
    const after = await ref.ask<unknown[]>(((self) => self.received) satisfies Script);
    expect(after).toHaveLength(countAtCancel);
    expect(after.every((message) => message === 'tick')).toBe(true);
  });

  it('cancelling one key leaves the others running', async () => {
    const system = testSystem();
    const got = deferred<unknown>();
    const ref = system.actorOf(() => new TimerActor((message) => got.resolve(message)));
    await ref.ask(((self) => {
      self.context.timers.startSingleTimer('a', 'from a', 10);
      self.context.timers.startSingleTimer('b', 'from b', 20);
      self.context.timers.cancel('a');
    }) satisfies Script);
    expect(await got.promise).toBe('from b');
    expect(await ref.ask(((self) => self.received) satisfies Script)).toEqual(['from b']);
  });

  it('a cancelled timer whose message is already in the mailbox is not received', async () => {
    const system = testSystem();
    const ref = system.actorOf(() => new TimerActor());
    const outcome = await ref.ask(((self) => {
      self.context.timers.startSingleTimer('k', 'stale', 10);
      // Hold the mailbox until the timer has fired and queued its message behind this one.
      return afterSameDelay(10).then(() => self.context.timers.cancel('k'));
    }) satisfies Script);
    expect(outcome).toBeUndefined();
    ref.tell('marker');
    expect(await ref.ask(((self) => self.received) satisfies Script)).toEqual(['marker']);
  });

  it('starting a timer with a key in use replaces it, also when the old one already fired', async () => {
    const system = testSystem();
    const got = deferred<unknown>();
    const ref = system.actorOf(() => new TimerActor((message) => got.resolve(message)));
    await ref.ask(((self) => {
      self.context.timers.startSingleTimer('k', 'old', 10);
      return afterSameDelay(10).then(() => self.context.timers.startSingleTimer('k', 'new', 10));
    }) satisfies Script);
    expect(await got.promise).toBe('new');
    expect(await ref.ask(((self) => self.received) satisfies Script)).toEqual(['new']);
  });

  it('a stopped actor leaves no timer behind and gets no timer message', async () => {
    const system = testSystem();
    const ref = system.actorOf(() => new TimerActor());
    const baseline = activeTimerCount();
    await ref.ask(((self) => {
      self.context.timers.startPeriodicTimer('p', 'tick', 5);
      self.context.timers.startSingleTimer('s1', 'once', 15);
      self.context.timers.startSingleTimer('s2', 'once', 60_000);
    }) satisfies Script);
    expect(activeTimerCount()).toBe(baseline + 3);
    await system.stop(ref);
    expect(activeTimerCount()).toBe(baseline);
    const deadLetters = system.deadLetterCount;
    await quietPeriod(40);
    expect(system.deadLetterCount).toBe(deadLetters);
  });

  it('a restart cancels every timer of the failed instance, including a message already queued', async () => {
    const system = testSystem();
    const log: unknown[] = [];
    const restarted: Deferred<void> = deferred();
    const ref = system.actorOf(
      () =>
        new (class extends TimerActor {
          constructor() {
            super(() => {}, log);
          }

          override postRestart(): void {
            restarted.resolve();
          }
        })(),
      'restarting',
    );
    expect(await ref.ask(((self) => self.received) satisfies Script)).toEqual([]);
    const baseline = activeTimerCount();
    ref.tell(((self) => {
      self.context.timers.startPeriodicTimer('p', 'periodic', 5);
      self.context.timers.startSingleTimer('s', 'single', 10);
      // Both timers fire while this message is handled, so their messages sit in the mailbox when it fails.
      return afterSameDelay(10).then(() => {
        throw new Error('failing with timer messages queued');
      });
    }) satisfies Script);
    await restarted.promise;
    expect(activeTimerCount()).toBe(baseline);
    await quietPeriod(40);
    ref.tell('marker');
    expect(await ref.ask(((self) => self.received) satisfies Script)).toEqual(['marker']);
    expect(log).toEqual(['marker']);
  });

  it('refuses a negative or non-finite delay', async () => {
    const system = testSystem({ guardianSupervisorStrategy: oneForOneStrategy({ decide: () => 'resume' }) });
    const ref: ActorRef = system.actorOf(() => new TimerActor());
    const attempt =
      (delay: number): Script =>
      (self) => {
        try {
          self.context.timers.startSingleTimer('bad', 'x', delay);
          return 'accepted';
        } catch (error) {
          return error instanceof RangeError ? 'RangeError' : 'other';
        }
      };
    expect(await ref.ask(attempt(-1))).toBe('RangeError');
    expect(await ref.ask(attempt(Number.POSITIVE_INFINITY))).toBe('RangeError');
    expect(await ref.ask(attempt(Number.NaN))).toBe('RangeError');
    expect(await ref.ask(attempt(0))).toBe('accepted');
  });
});
