import { describe, expect, it } from 'vitest';
import { Actor, ActorSystem, ActorSystemTerminatedError, InvalidActorNameError, InvalidOptionError, type ActorRef } from '../../src/actor/index.js';
import { deferred, failOnProcessErrors, testSystem } from './support.js';

failOnProcessErrors();

/** Creates the children it is told to and answers 'ready' once they all answered. */
class Node extends Actor {
  constructor(
    private readonly childNames: readonly string[],
    private readonly events: string[],
    private readonly grandChildren: Record<string, readonly string[]> = {},
  ) {
    super();
  }

  override preStart(): void {
    for (const name of this.childNames) {
      this.context.actorOf(() => new Node(this.grandChildren[name] ?? [], this.events), name);
    }
  }

  async receive(message: unknown): Promise<void> {
    if (message === 'ready?') {
      await Promise.all([...this.context.children].map((child) => child.ask('ready?')));
      this.sender.tell('ready');
    }
  }

  override async postStop(): Promise<void> {
    // An async postStop: terminate() must wait for it, not just start it.
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.events.push(this.self.path);
  }
}

describe('ActorSystem', () => {
  it('builds hierarchical paths under /user and finds actors by path', async () => {
    const system = testSystem();
    const events: string[] = [];
    const a = system.actorOf(() => new Node(['b'], events, { b: ['c'] }), 'a');
    await a.ask('ready?');
    expect(a.path).toBe('/user/a');
    const b = system.lookup('/user/a/b');
    expect(b?.path).toBe('/user/a/b');
    expect(b?.name).toBe('b');
    expect(system.lookup('/user/a/b/c')?.path).toBe('/user/a/b/c');
    expect(system.lookup('user/a/b/c/')?.path).toBe('/user/a/b/c');
    expect(system.lookup('/user/a/x')).toBeUndefined();
    expect(system.lookup('/other/a')).toBeUndefined();
    expect(system.lookup('/user')).toBeUndefined();
  });

  it('actorSelection resolves when a message is sent: an actor created after the selection receives it', async () => {
    const system = testSystem();
    const selection = system.actorSelection('/user/late');
    expect(selection.resolveOne()).toBeUndefined();
    const deadLetters: unknown[] = [];
    system.onDeadLetter((letter) => deadLetters.push(letter.message));
    selection.tell('too early');
    expect(deadLetters).toEqual(['too early']);

    const received = deferred<unknown>();
    const late = system.actorOf(
      () =>
        new (class extends Actor {
          receive(message: unknown): void {
            received.resolve(message);
          }
        })(),
      'late',
    );
    expect(selection.resolveOne()).toBe(late);
    selection.tell('hello');
    expect(await received.promise).toBe('hello');
    expect(deadLetters).toEqual(['too early']);
  });

  it('terminate() stops children before parents and resolves after every postStop ran', async () => {
    const system = testSystem();
    const events: string[] = [];
    const a = system.actorOf(() => new Node(['a1', 'a2'], events, { a1: ['a1x'] }), 'a');
    const b = system.actorOf(() => new Node(['b1'], events), 'b');
    await Promise.all([a.ask('ready?'), b.ask('ready?')]);

    await system.terminate();
    expect(system.isTerminated).toBe(true);
    expect([...events].sort()).toEqual(['/user/a', '/user/a/a1', '/user/a/a1/a1x', '/user/a/a2', '/user/b', '/user/b/b1'].sort());
    // A parent's postStop comes after the postStop of each of its descendants.
    const at = (path: string): number => events.indexOf(path);
    expect(at('/user/a/a1/a1x')).toBeLessThan(at('/user/a/a1'));
    expect(at('/user/a/a1')).toBeLessThan(at('/user/a'));
    expect(at('/user/a/a2')).toBeLessThan(at('/user/a'));
    expect(at('/user/b/b1')).toBeLessThan(at('/user/b'));
  });

  it('records the exact stop order of a chain', async () => {
    const system = testSystem();
    const events: string[] = [];
    const root = system.actorOf(() => new Node(['m'], events, { m: ['leaf'] }), 'root');
    await root.ask('ready?');
    await system.terminate();
    expect(events).toEqual(['/user/root/m/leaf', '/user/root/m', '/user/root']);
  });

  it('runs termination hooks after the actors stopped, last registered first', async () => {
    const system = testSystem();
    const events: string[] = [];
    const a = system.actorOf(() => new Node([], events), 'a');
    await a.ask('ready?');
    system.registerOnTermination(() => {
      events.push('hook 1');
    });
    system.registerOnTermination(async () => {
      events.push('hook 2');
      throw new Error('a failing hook is logged, not thrown');
    });
    await system.terminate();
    expect(events).toEqual(['/user/a', 'hook 2', 'hook 1']);
  });

  it('refuses new actors once terminating; terminate() is idempotent', async () => {
    const system = testSystem();
    const first = system.terminate();
    expect(system.terminate()).toBe(first);
    expect(() => system.actorOf(() => new Node([], []))).toThrow(ActorSystemTerminatedError);
    await first;
  });

  it('validates its name and options', () => {
    expect(() => ActorSystem.create('bad name')).toThrow(InvalidActorNameError);
    expect(() => ActorSystem.create('s', { throughput: 0 })).toThrow(InvalidOptionError);
    expect(() => ActorSystem.create('s', { askTimeoutMs: 1.5 })).toThrow(InvalidOptionError);
    const system = testSystem();
    expect(() => system.actorOf('not a factory' as unknown as () => Actor)).toThrow(InvalidOptionError);
  });

  it('refuses to construct an actor outside actorOf', () => {
    expect(() => new Node([], [])).toThrow(/only be created by actorOf/);
  });

  it('system.stop resolves once the actor stopped; the ref then reports it', async () => {
    const system = testSystem();
    const events: string[] = [];
    const a: ActorRef = system.actorOf(() => new Node(['c'], events), 'a');
    await a.ask('ready?');
    expect(a.isTerminated).toBe(false);
    await system.stop(a);
    expect(a.isTerminated).toBe(true);
    expect(events).toEqual(['/user/a/c', '/user/a']);
    expect(system.lookup('/user/a')).toBeUndefined();
  });
});
