import { describe, expect, it } from 'vitest';
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
    expect(() => BackoffSupervisor.props({ child, childName: 'w', minBackoffMs: 5, maxBackoffMs: 10, randomFactor: -1 })).toThrow(
      InvalidOptionError,
    );
  });

  it('forwards messages to the child with their sender', async () => {
    const system = testSystem();
    const times = timeline();
    const supervisor = system.actorOf(
      BackoffSupervisor.props({ child: () => new Worker(times), childName: 'worker', minBackoffMs: 50, maxBackoffMs: 400 }),
      'backoff',
    );
    expect(await supervisor.ask('hello')).toEqual({ echo: 'hello', from: '/user/backoff/worker' });
  });

  it('restarts a stopped child after delays that double from min to max, then resets after a stable period', async () => {
    const system = testSystem();
    const times = timeline();
    const scheduled: number[] = [];
    const firstStart = times.nextStart.promise;
    const supervisor = system.actorOf(
      BackoffSupervisor.props({
        child: () => new Worker(times),
        childName: 'worker',
        minBackoffMs: 50,
        maxBackoffMs: 400,
        resetBackoffAfterMs: 600,
        onRestartScheduled: (_attempt, delayMs) => scheduled.push(delayMs),
      }),
      'backoff',
    );
    await firstStart;
    const expectedMinimum = [50, 100, 200, 400, 400];
    for (let i = 0; i < expectedMinimum.length; i++) {
      const nextStart = times.nextStart.promise;
      // The child stops right away each time: it is never stable long enough for a reset.
      (await currentChild(system, supervisor)).tell('stop');
      await nextStart;
    }
    const gaps = times.started.slice(1).map((startedAt, i) => startedAt - times.stopped[i]!);
    expect(scheduled).toHaveLength(5);
    for (let i = 0; i < expectedMinimum.length; i++) {
      const minimum = expectedMinimum[i]!;
      // Scheduled delay: the base, stretched by at most the default 20% jitter.
      expect(scheduled[i]).toBeGreaterThanOrEqual(minimum);
      expect(scheduled[i]).toBeLessThanOrEqual(minimum * 1.2);
      // Measured: never earlier than scheduled (1 ms for timer rounding); later only by scheduling noise.
      expect(gaps[i]).toBeGreaterThanOrEqual(minimum - 1);
      expect(gaps[i]).toBeLessThan(minimum * 1.2 + 250);
    }
    // Roughly doubling: each of the first three gaps grows by a factor well above 1.
    for (let i = 1; i < 4; i++) expect(gaps[i]! / gaps[i - 1]!).toBeGreaterThan(1.3);

    // Stable for longer than resetBackoffAfterMs: the next delay starts from the minimum again.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const nextStart = times.nextStart.promise;
    (await currentChild(system, supervisor)).tell('stop');
    await nextStart;
    expect(scheduled[5]).toBeGreaterThanOrEqual(50);
    expect(scheduled[5]).toBeLessThanOrEqual(60);
    expect(times.started.at(-1)! - times.stopped.at(-1)!).toBeLessThan(60 + 250);
  });

  it('messages that arrive while the child is backing off are dead letters', async () => {
    const system = testSystem();
    const times = timeline();
    const scheduledRestart = deferred<number>();
    const supervisor = system.actorOf(
      BackoffSupervisor.props({
        child: () => new Worker(times),
        childName: 'worker',
        minBackoffMs: 200,
        maxBackoffMs: 400,
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

/** The child the supervisor forwards to now, found by the path it answers from. */
async function currentChild(system: ActorSystem, supervisor: ActorRef): Promise<ActorRef> {
  const reply = await supervisor.ask<{ from: string }>('where are you?');
  const child = system.lookup(reply.from);
  if (!child) throw new Error(`no child at ${reply.from}`);
  return child;
}
