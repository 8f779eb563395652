import { describe, expect, it, vi } from 'vitest';
import { Actor, BackoffSupervisor, backoffDelay, InvalidOptionError, type ActorRef, type ActorSystem, type DeadLetter } from '../../src/actor/index.js';
import { deferred, failOnProcessErrors, testSystem, type Deferred } from './support.js';

failOnProcessErrors();

interface Timeline {
  readonly started: number[];
  readonly stopped: number[];
  /** Resolved with the start time of the next incarnation; replaced on each start. */
  nextStart: Deferred<number>;
}

function timeline(): Timeline {
  return { started: [], stopped: [], nextStart: deferred<number>() };
}

/** The supervised child: records when each incarnation starts and stops; 'stop' stops it, 'throw' fails it. */
class Worker extends Actor {
  constructor(private readonly times: Timeline) {
    super();
  }

  override preStart(): void {
    const now = performance.now();
    this.times.started.push(now);
    const waiting = this.times.nextStart;
    this.times.nextStart = deferred<number>();
    waiting.resolve(now);
  }

  override postStop(): void {
    this.times.stopped.push(performance.now());
  }

  receive(message: unknown): void {
    if (message === 'stop') void this.context.stop(this.self);
    else if (message === 'throw') throw new Error('worker failed');
    else this.sender.tell({ echo: message, from: this.self.path });
  }
}

describe('backoffDelay', () => {
  it('doubles from min up to max, and the jitter stretches by at most randomFactor', () => {
    const none = (): number => 0;
    const full = (): number => 1;
    const half = (): number => 0.5;
    expect([0, 1, 2, 3, 4, 10, 1000].map((attempt) => backoffDelay(attempt, 50, 400, 0.2, none))).toEqual([50, 100, 200, 400, 400, 400, 400]);
    expect([0, 1, 2, 3, 4].map((attempt) => backoffDelay(attempt, 50, 400, 0.2, full))).toEqual([60, 120, 240, 480, 480]);
    expect(backoffDelay(1, 50, 400, 0.5, half)).toBe(125);
    expect(backoffDelay(2, 100, 30_000, 0, Math.random)).toBe(400);
  });
});

describe('BackoffSupervisor', () => {
  it('validates its options', () => {
    const child = (): Actor => new Worker(timeline());
    expect(() => BackoffSupervisor.props({ child, childName: 'w', minBackoffMs: 0, maxBackoffMs: 10 })).toThrow(InvalidOptionError);
    expect(() => BackoffSupervisor.props({ child, childName: 'w', minBackoffMs: 50, maxBackoffMs: 10 })).toThrow(InvalidOptionError);
    expect(() => BackoffSupervisor.props({ child, childName: 'w', minBackoffMs: 5, maxBackoffMs: 10, randomFactor: -1 })).toThrow(InvalidOptionError);
  });

  it('forwards messages to the child with their sender', async () => {
    const system = testSystem();
    const times = timeline();
    const supervisor = system.actorOf(BackoffSupervisor.props({ child: () => new Worker(times), childName: 'worker', minBackoffMs: 50, maxBackoffMs: 400 }), 'backoff');
    expect(await supervisor.ask('hello')).toEqual({ echo: 'hello', from: '/user/backoff/worker' });
  });

  it('restarts a stopped child after delays that double from min to max, then resets after a stable period', async () => {
    // The timers are fake (the clock moves only when the test says so): whether a restart happened
    // before or after its delay does not depend on how busy the machine is. Turns of the event loop
    // (setImmediate) and microtasks stay real, so the actors run as usual.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const system = testSystem();
      const times = timeline();
      const scheduled: number[] = [];
      let restartScheduled = deferred<number>();
      const firstStart = times.nextStart.promise;
      const supervisor = system.actorOf(
        BackoffSupervisor.props({
          child: () => new Worker(times),
          childName: 'worker',
          minBackoffMs: 50,
          maxBackoffMs: 400,
          resetBackoffAfterMs: 600,
          onRestartScheduled: (_attempt, delayMs) => {
            scheduled.push(delayMs);
            restartScheduled.resolve(delayMs);
          },
        }),
        'backoff',
      );
      await firstStart;
      /** Stops the child and checks that the next one starts exactly when the scheduled delay is over. */
      const stopAndRestart = async (): Promise<number> => {
        restartScheduled = deferred<number>();
        const nextStart = times.nextStart.promise;
        const startsBefore = times.started.length;
        (await currentChild(system, supervisor)).tell('stop');
        const delay = await restartScheduled.promise;
        await vi.advanceTimersByTimeAsync(Math.floor(delay) - 1);
        await settleTurns();
        expect(times.started, `restarted before its delay of ${delay} ms`).toHaveLength(startsBefore);
        await vi.advanceTimersByTimeAsync(Math.ceil(delay) - Math.floor(delay) + 1);
        await nextStart;
        return delay;
      };
      const expectedMinimum = [50, 100, 200, 400, 400];
      for (const minimum of expectedMinimum) {
        // The child stops right away each time: it is never stable long enough for a reset.
        const delay = await stopAndRestart();
        // The base delay, stretched by at most the default 20% jitter.
        expect(delay).toBeGreaterThanOrEqual(minimum);
        expect(delay).toBeLessThanOrEqual(minimum * 1.2);
      }
      expect(scheduled).toHaveLength(5);

      // Stable for resetBackoffAfterMs: the next delay starts from the minimum again.
      await vi.advanceTimersByTimeAsync(600);
      const delay = await stopAndRestart();
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(60);
    } finally {
      vi.useRealTimers();
    }
  });

  it('messages that arrive while the child is backing off are dead letters', async () => {
    const system = testSystem();
    const times = timeline();
    const scheduledRestart = deferred<number>();
    const supervisor = system.actorOf(
      BackoffSupervisor.props({
        child: () => new Worker(times),
        childName: 'worker',
        // Longer than the test: the child is still backing off when 'while down' arrives.
        minBackoffMs: 60_000,
        maxBackoffMs: 120_000,
        onRestartScheduled: (_attempt, delay) => scheduledRestart.resolve(delay),
      }),
      'backoff',
    );
    const letter = deferred<DeadLetter>();
    system.onDeadLetter((deadLetter) => letter.resolve(deadLetter));
    supervisor.tell('stop');
    await scheduledRestart.promise;
    supervisor.tell('while down');
    expect(await letter.promise).toMatchObject({ message: 'while down', recipient: '/user/backoff/worker', reason: 'child is backing off' });
    expect(system.deadLetterCount).toBe(1);
  });

  it('on-failure: a failing child is stopped and brought back after the backoff delay', async () => {
    const system = testSystem();
    const times = timeline();
    const firstStart = times.nextStart.promise;
    const supervisor = system.actorOf(
      BackoffSupervisor.props({ child: () => new Worker(times), childName: 'worker', minBackoffMs: 50, maxBackoffMs: 400, mode: 'on-failure' }),
      'backoff',
    );
    await firstStart;
    const nextStart = times.nextStart.promise;
    supervisor.tell('throw');
    await nextStart;
    expect(times.started[1]! - times.stopped[0]!).toBeGreaterThanOrEqual(49);
    expect(await supervisor.ask('back?')).toEqual({ echo: 'back?', from: '/user/backoff/worker' });
  });

  it('on-failure: a child that stops by itself stays stopped', async () => {
    const system = testSystem();
    const times = timeline();
    const scheduled: number[] = [];
    const firstStart = times.nextStart.promise;
    const supervisor = system.actorOf(
      BackoffSupervisor.props({
        child: () => new Worker(times),
        childName: 'worker',
        minBackoffMs: 10,
        maxBackoffMs: 20,
        mode: 'on-failure',
        onRestartScheduled: (_attempt, delay) => scheduled.push(delay),
      }),
      'backoff',
    );
    await firstStart;
    const child = await currentChild(system, supervisor);
    supervisor.tell('stop');
    await system.stop(child);
    // Longer than the longest backoff: a restart would have happened by now.
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(scheduled).toEqual([]);
    expect(times.started).toHaveLength(1);
    const letter = deferred<DeadLetter>();
    system.onDeadLetter((deadLetter) => letter.resolve(deadLetter));
    supervisor.tell('anyone?');
    expect(await letter.promise).toMatchObject({ message: 'anyone?', reason: 'child stopped' });
  });

  it('on-stop (default): a child that throws is restarted at once by the default strategy, without backoff', async () => {
    const system = testSystem();
    const times = timeline();
    const scheduled: number[] = [];
    const firstStart = times.nextStart.promise;
    const supervisor = system.actorOf(
      BackoffSupervisor.props({
        child: () => new Worker(times),
        childName: 'worker',
        minBackoffMs: 5_000,
        maxBackoffMs: 10_000,
        onRestartScheduled: (_attempt, delay) => scheduled.push(delay),
      }),
      'backoff',
    );
    await firstStart;
    const nextStart = times.nextStart.promise;
    supervisor.tell('throw');
    await nextStart;
    expect(scheduled).toEqual([]);
    expect(await supervisor.ask('still there?')).toEqual({ echo: 'still there?', from: '/user/backoff/worker' });
  });
});

/** A few real turns of the event loop: whatever a fired timer set off has run by then. */
async function settleTurns(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** The child the supervisor forwards to now, found by the path it answers from. */
async function currentChild(system: ActorSystem, supervisor: ActorRef): Promise<ActorRef> {
  const reply = await supervisor.ask<{ from: string }>('where are you?');
  const child = system.lookup(reply.from);
  if (!child) throw new Error(`no child at ${reply.from}`);
  return child;
}
