import { describe, expect, it } from 'vitest';
import { Actor, DeadLetter, PoisonPill } from '../../src/actor/index.js';
import { deferred, failOnProcessErrors, memoryLogger, testSystem } from './support.js';

failOnProcessErrors();

class Echo extends Actor {
  receive(message: unknown): void {
    this.sender.tell(message, this.self);
  }
}

describe('dead letters', () => {
  it('messages to a stopped actor go to dead letters: counted, published, never thrown', async () => {
    const system = testSystem();
    const echo = system.actorOf(() => new Echo(), 'echo');
    expect(await echo.ask('ping')).toBe('ping');
    await system.stop(echo);

    const letters: DeadLetter[] = [];
    system.onDeadLetter((letter) => letters.push(letter));
    const before = system.deadLetterCount;
    const sender = system.actorOf(() => new Echo(), 'sender');
    expect(() => echo.tell('after stop', sender)).not.toThrow();
    expect(() => echo.tell({ n: 2 })).not.toThrow();

    expect(system.deadLetterCount - before).toBe(2);
    expect(letters.map((letter) => letter.message)).toEqual(['after stop', { n: 2 }]);
    expect(letters[0]).toBeInstanceOf(DeadLetter);
    expect(letters[0]!.recipient).toBe('/user/echo');
    expect(letters[0]!.sender).toBe(sender);
    expect(letters[0]!.reason).toBe('recipient stopped');
  });

  it('what was still in the mailbox when an actor stopped goes to dead letters, in order', async () => {
    const system = testSystem();
    const gate = deferred();
    const started = deferred();
    const slow = system.actorOf(
      () =>
        new (class extends Actor {
          async receive(message: unknown): Promise<void> {
            if (message === 'block') {
              started.resolve();
              await gate.promise;
            }
          }
        })(),
      'slow',
    );
    const letters: unknown[] = [];
    system.onDeadLetter((letter) => letters.push(letter.message));
    slow.tell('block');
    await started.promise;
    slow.tell(PoisonPill.instance);
    slow.tell('queued 1');
    slow.tell('queued 2');
    const stopped = system.stop(slow);
    gate.resolve();
    await stopped;
    expect(letters).toEqual(['queued 1', 'queued 2']);
  });

  it('a reply to a message that had no sender is a dead letter', async () => {
    const system = testSystem();
    const replied = deferred<DeadLetter>();
    system.onDeadLetter((letter) => replied.resolve(letter));
    const echo = system.actorOf(() => new Echo(), 'echo');
    echo.tell('no one asked');
    const letter = await replied.promise;
    expect(letter.message).toBe('no one asked');
    expect(letter.sender).toBe(echo);
    expect(system.deadLetterCount).toBe(1);
  });

  it('telling deadLetters directly counts; an unsubscribed listener hears nothing more; a throwing listener is contained', () => {
    const system = testSystem();
    const heard: unknown[] = [];
    const unsubscribe = system.onDeadLetter((letter) => heard.push(letter.message));
    system.onDeadLetter(() => {
      throw new Error('listener bug');
    });
    system.deadLetters.tell('one');
    unsubscribe();
    system.deadLetters.tell('two');
    expect(heard).toEqual(['one']);
    expect(system.deadLetterCount).toBe(2);
  });

  it('logs dead letters at a bounded rate and keeps counting the rest', () => {
    const { logger, lines } = memoryLogger();
    const system = testSystem({ logger, deadLetterLogLimit: 3 });
    for (let i = 0; i < 50; i++) system.deadLetters.tell(i);
    const logged = lines.filter((line) => line.msg === 'dead letter');
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatchObject({ recipient: '/deadLetters', messageType: 'number', system: 'test' });
    expect(system.deadLetterCount).toBe(50);
  });
});
