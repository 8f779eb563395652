import { describe, expect, it } from 'vitest';
import { Actor, BackoffSupervisor } from '../../src/actor/index.js';
import { deferred, failOnProcessErrors, memoryLogger, testSystem } from './support.js';

failOnProcessErrors();

/** Logs from every place an actor can log from. */
class Chatty extends Actor {
  constructor() {
    super();
    this.log.info('constructed');
  }

  override preStart(): void {
    this.log.info('preStart');
    if (this.self.name === 'parent') this.context.actorOf(() => new Chatty(), 'child');
  }

  async receive(message: unknown): Promise<void> {
    this.log.debug({ message }, 'received');
    if (message === 'fail') throw new Error('logged failure');
    await Promise.resolve();
    this.log.warn('after an await');
    this.sender.tell('done');
  }

  override postStop(): void {
    this.log.info('postStop');
  }
}

describe('Actor', () => {
  it('every log line of an actor carries its path and the system name', async () => {
    const { logger, lines } = memoryLogger();
    const system = testSystem({ logger }, 'logsys');
    const parent = system.actorOf(() => new Chatty(), 'parent');
    await parent.ask('hello');
    const child = system.lookup('/user/parent/child')!;
    await child.ask('hello');
    child.tell('fail');
    await child.ask('after failure');
    // A runtime component that logs on its own behalf: the backoff supervisor.
    const restarted = deferred();
    const supervisor = system.actorOf(
      BackoffSupervisor.props({
        child: () => new Chatty(),
        childName: 'w',
        minBackoffMs: 5,
        maxBackoffMs: 10,
        onRestartScheduled: () => restarted.resolve(),
      }),
      'bo',
    );
    await supervisor.ask('up?');
    await system.stop(system.lookup('/user/bo/w')!);
    await restarted.promise;
    await system.terminate();

    const byActor = (path: string): string[] => lines.filter((line) => line.actor === path).map((line) => line.msg);
    expect(byActor('/user/parent')).toEqual(['constructed', 'preStart', 'received', 'after an await', 'postStop']);
    expect(byActor('/user/parent/child')).toEqual([
      'constructed',
      'preStart',
      'received',
      'after an await',
      'received',
      'actor failed while handling a message; the message is dropped',
      'postStop',
      'constructed',
      'preStart',
      'received',
      'after an await',
      'postStop',
    ]);
    expect(byActor('/user/bo').some((msg) => msg.includes('restarting it after backoff'))).toBe(true);
    // No line about an actor comes without its path.
    for (const line of lines) {
      expect(line.system).toBe('logsys');
      if (line.msg !== 'dead letter' && !line.msg.includes('more dead letters')) expect(typeof line.actor).toBe('string');
    }
  });

  it('self, context and the lifecycle hooks are available from the constructor on, in order', async () => {
    const system = testSystem();
    const events: string[] = [];
    const stopped = deferred();
    const ref = system.actorOf(
      () =>
        new (class extends Actor {
          constructor() {
            super();
            events.push(`constructor ${this.self.path} parent ${this.context.parent.path}`);
          }

          override preStart(): void {
            events.push('preStart');
          }

          receive(message: unknown): void {
            events.push(`receive ${String(message)}`);
            this.sender.tell('ok');
          }

          override postStop(): void {
            events.push('postStop');
            stopped.resolve();
          }
        })(),
      'life',
    );
    await ref.ask('one');
    await system.stop(ref);
    await stopped.promise;
    expect(events).toEqual(['constructor /user/life parent /user', 'preStart', 'receive one', 'postStop']);
  });

  it('a constructor that throws makes actorOf throw and leaves the name free', () => {
    const system = testSystem();
    expect(() =>
      system.actorOf(
        () =>
          new (class extends Actor {
            constructor() {
              super();
              throw new Error('bad constructor');
            }

            receive(): void {}
          })(),
        'x',
      ),
    ).toThrow('bad constructor');
    expect(system.lookup('/user/x')).toBeUndefined();
    expect(system.actorOf(() => new Chatty(), 'x').path).toBe('/user/x');
  });
});

describe('what an idle actor keeps', () => {
  /** Replies, and lets the test look at what it sees between messages. */
  class Keeper extends Actor<{ payload: string; async?: boolean }> {
    async receive(message: { payload: string; async?: boolean }): Promise<void> {
      if (message.async) await Promise.resolve();
      this.sender.tell(message.payload.length);
    }
  }

  it('forgets the last message and its sender once handled (sync and async handlers): between messages sender is dead letters, as in Akka', async () => {
    const system = testSystem({}, 'idle-keeps');
    let actor: Keeper | undefined;
    const ref = system.actorOf(() => {
      actor = new Keeper();
      return actor;
    });
    for (const async of [false, true]) {
      expect(await ref.ask<number>({ payload: 'x'.repeat(1000), async })).toBe(1000);
      // The reply settles the ask before the async handler's own promise does: let the handler finish.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // The asker's temporary ref (its promise and timer) and the 1 000-character command are not retained.
      expect(actor!.sender).toBe(system.deadLetters);
    }
    await system.terminate();
  });
});
