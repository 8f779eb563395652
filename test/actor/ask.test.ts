import { describe, expect, it } from 'vitest';
import { Actor, AskTimeoutError, InvalidOptionError, StatusFailure, type ActorRef, type DeadLetter } from '../../src/actor/index.js';
import { deferred, failOnProcessErrors, testSystem, type Deferred } from './support.js';

failOnProcessErrors();

class Failure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Failure';
  }
}

/** Replies according to the message; holds 'later' replies until the test releases them. */
class Responder extends Actor {
  constructor(private readonly held: Deferred<ActorRef>) {
    super();
  }

  receive(message: unknown): void {
    switch (message) {
      case 'value':
        this.sender.tell({ answer: 42 });
        return;
      case 'error':
        this.sender.tell(new Failure('refused'));
        return;
      case 'status':
        this.sender.tell(new StatusFailure(new Failure('status refused')));
        return;
      case 'twice':
        this.sender.tell(1);
        this.sender.tell(2);
        return;
      case 'later':
        // Keep the ask's sender to reply after the ask timed out.
        this.held.resolve(this.sender);
        return;
      case 'silent':
        return;
    }
  }
}

describe('ask', () => {
  it('resolves with the reply', async () => {
    const system = testSystem();
    const ref = system.actorOf(() => new Responder(deferred()), 'r');
    await expect(ref.ask('value')).resolves.toEqual({ answer: 42 });
    await expect(system.ask(ref, 'value')).resolves.toEqual({ answer: 42 });
  });

  it('rejects with the Error a reply carries, directly or in a StatusFailure', async () => {
    const system = testSystem();
    const ref = system.actorOf(() => new Responder(deferred()), 'r');
    await expect(ref.ask('error')).rejects.toThrow(new Failure('refused'));
    await expect(ref.ask('status')).rejects.toBeInstanceOf(Failure);
    await expect(ref.ask('status')).rejects.toThrow('status refused');
  });

  it('rejects with AskTimeoutError when no reply comes in time', async () => {
    const system = testSystem();
    const ref = system.actorOf(() => new Responder(deferred()), 'r');
    const started = performance.now();
    const error = await ref.ask('silent', 50).catch((caught: unknown) => caught);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(AskTimeoutError);
    expect((error as AskTimeoutError).code).toBe('ERR_ASK_TIMEOUT');
    expect((error as AskTimeoutError).path).toBe('/user/r');
    expect((error as AskTimeoutError).timeoutMs).toBe(50);
    expect((error as Error).message).toContain('/user/r');
    // Timers may fire a little early in Node's accounting, never much.
    expect(elapsed).toBeGreaterThanOrEqual(45);
  });

  it('uses the system default timeout', async () => {
    const system = testSystem({ askTimeoutMs: 30 });
    const ref = system.actorOf(() => new Responder(deferred()), 'r');
    await expect(ref.ask('silent')).rejects.toMatchObject({ timeoutMs: 30 });
  });

  it('a reply that arrives after the timeout goes to dead letters', async () => {
    const system = testSystem();
    const held = deferred<ActorRef>();
    const ref = system.actorOf(() => new Responder(held), 'r');
    const letters: DeadLetter[] = [];
    system.onDeadLetter((letter) => letters.push(letter));
    await expect(ref.ask('later', 20)).rejects.toBeInstanceOf(AskTimeoutError);
    const replyTo = await held.promise;
    expect(replyTo.isTerminated).toBe(true);
    replyTo.tell('too late', ref);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.message).toBe('too late');
    expect(letters[0]!.sender).toBe(ref);
    expect(letters[0]!.recipient).toMatch(/^\/temp\/ask-/);
  });

  it('only the first reply settles the ask; a second one is a dead letter', async () => {
    const system = testSystem();
    const ref = system.actorOf(() => new Responder(deferred()), 'r');
    const second = deferred<DeadLetter>();
    system.onDeadLetter((letter) => second.resolve(letter));
    await expect(ref.ask('twice')).resolves.toBe(1);
    expect((await second.promise).message).toBe(2);
  });

  it('asking a stopped actor times out and the question is a dead letter', async () => {
    const system = testSystem();
    const ref = system.actorOf(() => new Responder(deferred()), 'r');
    await system.stop(ref);
    await expect(ref.ask('value', 20)).rejects.toBeInstanceOf(AskTimeoutError);
    expect(system.deadLetterCount).toBe(1);
  });

  it('rejects a timeout that is not a positive number', async () => {
    const system = testSystem();
    const ref = system.actorOf(() => new Responder(deferred()), 'r');
    await expect(ref.ask('value', 0)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(ref.ask('value', Number.NaN)).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('the sender is dead letters when a message was told without one', async () => {
    const system = testSystem();
    const seen = deferred<ActorRef>();
    const ref = system.actorOf(
      () =>
        new (class extends Actor {
          receive(): void {
            seen.resolve(this.sender);
          }
        })(),
    );
    ref.tell('anonymous');
    expect(await seen.promise).toBe(system.deadLetters);
  });
});
