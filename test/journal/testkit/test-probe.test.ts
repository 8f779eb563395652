import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { TestProbe, TestProbeError } from '../../../journal/testkit/index.js';
import { Actor, ActorSystem, Terminated } from '../../../src/actor/index.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** Replies to 'ping' with 'pong' and forwards anything else to `target`, keeping the sender. */
class Relay extends Actor {
  constructor(private readonly target?: TestProbe) {
    super();
  }

  receive(message: unknown): void {
    if (message === 'ping') this.sender.tell('pong', this.self);
    else this.target?.ref.tell(message, this.sender);
  }
}

let system: ActorSystem;
afterEach(async () => {
  await system.terminate();
});

function newSystem(): ActorSystem {
  system = ActorSystem.create('probes', { logger: pino({ level: 'silent' }) });
  return system;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${String(outcome.value)}`);
  return outcome.error as Error;
}

describe('TestProbe', () => {
  it('is an actor: it has a ref under /user, named or numbered', () => {
    newSystem();
    const named = TestProbe.create(system, 'probe');
    const unnamed = TestProbe.create(system);
    expect(named.ref.path).toBe('/user/probe');
    expect(unnamed.ref.path).toMatch(/^\/user\/testProbe-\d+$/);
    expect(system.lookup('/user/probe')).toBe(named.ref);
  });

  it('expectMsg matches by deep equality or by predicate, for queued and for later messages', async () => {
    newSystem();
    const probe = TestProbe.create(system);
    probe.ref.tell({ a: [1, 2], b: { c: 'd' } });
    await expect(probe.expectMsg({ a: [1, 2], b: { c: 'd' } })).resolves.toEqual({ a: [1, 2], b: { c: 'd' } });
    const later = probe.expectMsg((message) => typeof message === 'number' && message > 10);
    setTimeout(() => probe.ref.tell(42), 5);
    expect(await later).toBe(42);
  });

  it('expectMsg rejects at once when the next message differs, saying what was expected and what came', async () => {
    newSystem();
    const probe = TestProbe.create(system);
    probe.ref.tell({ n: 1 });
    const error = await rejection(probe.expectMsg({ n: 2 }));
    expect(error).toBeInstanceOf(TestProbeError);
    expect(error.message).toContain('expected { n: 2 }, got { n: 1 }');
    // Deep *strict* equality: a string is not a number.
    probe.ref.tell({ n: '1' });
    await expect(probe.expectMsg({ n: 1 })).rejects.toThrow(/got \{ n: '1' \}/);
  });

  it('rejects on timeout, saying what it waited for and that nothing arrived', async () => {
    newSystem();
    const probe = TestProbe.create(system, 'quiet');
    const started = performance.now();
    const error = await rejection(probe.expectMsg('never', 50));
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(error.message).toBe("/user/quiet: timeout (50 ms) waiting for 'never'; nothing arrived");
    await expect(probe.expectMsgType(Point, 20)).rejects.toThrow('waiting for a message of type Point; nothing arrived');
  });

  it('expectMsgType checks the class and resolves with the typed message', async () => {
    newSystem();
    const probe = TestProbe.create(system);
    probe.ref.tell(new Point(1, 2));
    const point: Point = await probe.expectMsgType(Point);
    expect(point.x + point.y).toBe(3);
    probe.ref.tell({ x: 1, y: 2 });
    await expect(probe.expectMsgType(Point)).rejects.toThrow('expected a message of type Point, got { x: 1, y: 2 }');
  });

  it('expectNoMessage resolves after a quiet period and rejects with the message that broke it', async () => {
    newSystem();
    const probe = TestProbe.create(system);
    const started = performance.now();
    await probe.expectNoMessage(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);

    // A quiet period far longer than the rest of the test: the rejection comes when the intruder
    // does, not when the period ends, on a machine of any speed.
    const broken = probe.expectNoMessage(20_000);
    setTimeout(() => probe.ref.tell('intruder'), 5);
    const error = await rejection(broken);
    expect(error.message).toContain("expected no message for 20000 ms, got 'intruder'");
    expect(performance.now() - started).toBeLessThan(10_000);

    probe.ref.tell('already there');
    await expect(probe.expectNoMessage(10)).rejects.toThrow("got 'already there'");
  });

  it('fishForMessage skips what does not match and lists it on timeout', async () => {
    newSystem();
    const probe = TestProbe.create(system);
    for (const n of [1, 2, 3, 10, 4]) probe.ref.tell(n);
    expect(await probe.fishForMessage((message) => (message as number) >= 10)).toBe(10);
    // The message after the catch is still there.
    expect(await probe.expectMsg(4)).toBe(4);
    probe.ref.tell('a');
    probe.ref.tell('b');
    // The timeout must not run out before 'a' and 'b' reached the probe (a busy machine can hand the
    // dispatcher's next slice to a later turn): 500 ms, not 30.
    const error = await rejection(
      probe.fishForMessage(function isBig(message) {
        return message === 'big';
      }, 500),
    );
    expect(error.message).toContain("waiting for a message matching isBig; skipped [ 'a', 'b' ]");
  });

  it('receiveN returns the next n messages in order, or says how many came', async () => {
    newSystem();
    const probe = TestProbe.create(system);
    for (let i = 0; i < 5; i++) probe.ref.tell(i);
    expect(await probe.receiveN(3)).toEqual([0, 1, 2]);
    expect(await probe.receiveN(0)).toEqual([]);
    await expect(probe.receiveN(3, 30)).rejects.toThrow('waiting for 3 messages; got 2: [ 3, 4 ]');
  });

  it('lastSender and reply talk back to whoever sent the last message taken', async () => {
    newSystem();
    const probe = TestProbe.create(system);
    const relay = system.actorOf(() => new Relay(probe), 'relay');
    expect(() => probe.lastSender).toThrow(TestProbeError);
    const answer = relay.ask('question');
    await probe.expectMsg('question');
    expect(probe.lastSender.path).toMatch(/^\/temp\/ask-/);
    probe.reply('answer');
    expect(await answer).toBe('answer');

    // A probe can be the sender too: the reply comes back to it.
    relay.tell('ping', probe.ref);
    await probe.expectMsg('pong');
    expect(probe.lastSender).toBe(relay);

    // A message without sender: lastSender is dead letters.
    probe.ref.tell('anonymous');
    await probe.expectMsg('anonymous');
    expect(probe.lastSender).toBe(system.deadLetters);
  });

  it('watch and expectTerminated', async () => {
    newSystem();
    const probe = TestProbe.create(system);
    const relay = system.actorOf(() => new Relay(), 'relay');
    probe.watch(relay);
    await system.stop(relay);
    const terminated = await probe.expectTerminated(relay);
    expect(terminated).toBeInstanceOf(Terminated);
    expect(terminated.actor).toBe(relay);

    const other = system.actorOf(() => new Relay(), 'other');
    probe.ref.tell('not a Terminated');
    // Rejects when the wrong message is taken, long before the (default) timeout.
    await expect(probe.expectTerminated(other)).rejects.toThrow("expected Terminated(/user/other), got 'not a Terminated'");
    await expect(probe.expectTerminated(other, 30)).rejects.toThrow('timeout (30 ms) waiting for Terminated(/user/other)');
  });

  it('refuses a second expectation while one waits, and contains a throwing predicate', async () => {
    newSystem();
    const probe = TestProbe.create(system);
    const first = probe.expectMsg('x', 1000);
    await expect(probe.expectMsg('y')).rejects.toThrow('await each in turn');
    probe.ref.tell('x');
    expect(await first).toBe('x');

    probe.ref.tell('boom');
    await expect(
      probe.expectMsg(() => {
        throw new Error('predicate bug');
      }),
    ).rejects.toThrow('predicate bug');
    // The probe's actor is unaffected and keeps receiving.
    probe.ref.tell('still alive');
    expect(await probe.expectMsg('still alive')).toBe('still alive');
  });
});
