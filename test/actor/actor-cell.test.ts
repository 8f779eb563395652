import { describe, expect, it } from 'vitest';
import { Actor, PoisonPill, StashOverflowError, Terminated, type ActorRef, type DeadLetter } from '../../src/actor/index.js';
import { deferred, failOnProcessErrors, testSystem, type Deferred } from './support.js';

failOnProcessErrors();

class Idle extends Actor {
  constructor(private readonly stopped?: string[]) {
    super();
  }

  receive(message: unknown): void {
    if (message === 'ping') this.sender.tell('pong');
  }

  override postStop(): void {
    this.stopped?.push(this.self.path);
  }
}

/** Runs whatever function it is sent, with itself as argument, and replies with the result. */
class Scriptable extends Actor {
  readonly received: unknown[] = [];

  async receive(message: unknown): Promise<void> {
    if (typeof message === 'function') {
      try {
        this.sender.tell(await (message as (self: Scriptable) => unknown)(this));
      } catch (error) {
        this.sender.tell({ threw: error });
      }
      return;
    }
    this.received.push(message);
  }
}

type Script = (actor: Scriptable) => unknown;

describe('context.actorOf and context.stop', () => {
  it('creates children under the actor path; stop resolves after the child (and its children) stopped', async () => {
    const system = testSystem();
    const stopped: string[] = [];
    const parent = system.actorOf(() => new Scriptable(), 'parent');
    const child = await parent.ask<ActorRef>(((self) => self.context.actorOf(() => new Idle(stopped), 'child')) satisfies Script);
    expect(child.path).toBe('/user/parent/child');
    expect(await child.ask('ping')).toBe('pong');
    const children = await parent.ask<string[]>(((self) => [...self.context.children].map((ref) => ref.path)) satisfies Script);
    expect(children).toEqual(['/user/parent/child']);

    await parent.ask(((self) => self.context.stop(child).then(() => 'stopped')) satisfies Script);
    expect(stopped).toEqual(['/user/parent/child']);
    expect(child.isTerminated).toBe(true);
    expect(await parent.ask(((self) => self.context.child('child')) satisfies Script)).toBeUndefined();
  });

  it('refuses to stop an actor that is neither self nor a child', async () => {
    const system = testSystem();
    const stranger = system.actorOf(() => new Idle(), 'stranger');
    const parent = system.actorOf(() => new Scriptable(), 'parent');
    const outcome = await parent.ask<{ threw: Error }>(((self) => self.context.stop(stranger)) satisfies Script);
    expect(outcome.threw.message).toContain('not a child');
    expect(stranger.isTerminated).toBe(false);
  });

  it('context.stop(self) stops after the current message; later messages are dead letters', async () => {
    const system = testSystem();
    const stopped: string[] = [];
    const letters: unknown[] = [];
    system.onDeadLetter((letter) => letters.push(letter.message));
    const ref = system.actorOf(
      () =>
        new (class extends Actor {
          receive(message: unknown): void {
            if (message === 'stop') {
              void this.context.stop(this.self);
              this.sender.tell('stopping');
            }
          }

          override postStop(): void {
            stopped.push('postStop');
          }
        })(),
    );
    const reply = ref.ask('stop');
    ref.tell('after');
    expect(await reply).toBe('stopping');
    // Already stopping: this only waits for the stop that the actor started.
    await system.stop(ref);
    expect(stopped).toEqual(['postStop']);
    expect(letters).toEqual(['after']);
  });

  it('PoisonPill stops the actor after the messages before it', async () => {
    const system = testSystem();
    const ref = system.actorOf(() => new Scriptable(), 'victim');
    const received = deferred<unknown[]>();
    ref.tell('a');
    ref.tell('b');
    ref.tell(((self) => received.resolve([...self.received])) satisfies Script);
    ref.tell(PoisonPill.instance);
    ref.tell('c');
    expect(await received.promise).toEqual(['a', 'b']);
    await system.stop(ref);
    expect(system.deadLetterCount).toBe(2); // the reply of the script (no sender) and 'c'
  });
});

describe('death watch', () => {
  it('delivers Terminated(ref) when a watched actor stops', async () => {
    const system = testSystem();
    const terminated = deferred<Terminated>();
    const target = system.actorOf(() => new Idle(), 'target');
    const watcher = system.actorOf(
      () =>
        new (class extends Actor {
          override preStart(): void {
            this.context.watch(target);
          }

          receive(message: unknown): void {
            if (message instanceof Terminated) terminated.resolve(message);
            else this.sender.tell('watching');
          }
        })(),
    );
    expect(await watcher.ask('started?')).toBe('watching');
    await system.stop(target);
    const message = await terminated.promise;
    expect(message).toBeInstanceOf(Terminated);
    expect(message.actor).toBe(target);
  });

  it('delivers Terminated at once for a ref that already stopped', async () => {
    const system = testSystem();
    const target = system.actorOf(() => new Idle(), 'target');
    await system.stop(target);
    const watcher = system.actorOf(() => new Scriptable(), 'watcher');
    await watcher.ask(((self) => self.context.watch(target)) satisfies Script);
    const received = await watcher.ask<unknown[]>(((self) => self.received) satisfies Script);
    expect(received).toHaveLength(1);
    expect((received[0] as Terminated).actor).toBe(target);
  });

  it('no Terminated after unwatch, not even one already in the mailbox', async () => {
    const system = testSystem();
    const watcher = system.actorOf(() => new Scriptable(), 'watcher');
    const early = system.actorOf(() => new Idle(), 'early');
    const late = system.actorOf(() => new Idle(), 'late');
    await watcher.ask(((self) => [self.context.watch(early), self.context.watch(late)]) satisfies Script);

    // Unwatch before the stop.
    await watcher.ask(((self) => self.context.unwatch(early)) satisfies Script);
    await system.stop(early);

    // Unwatch while the Terminated already waits in the mailbox: the watcher is busy when `late` stops.
    const gate = deferred();
    const busy = watcher.ask(((self) => gate.promise.then(() => self.context.unwatch(late))) satisfies Script);
    await system.stop(late);
    gate.resolve();
    await busy;

    // Terminated is enqueued when the target stops, so it would have been handled before this script.
    const received = await watcher.ask<unknown[]>(((self) => self.received) satisfies Script);
    expect(received).toEqual([]);
  });

  it('a Terminated that was stashed is received after unstashAll', async () => {
    const system = testSystem();
    const target = system.actorOf(() => new Idle(), 'target');
    const unstashed = deferred<unknown>();
    const watcher = system.actorOf(
      () =>
        new (class extends Actor {
          override preStart(): void {
            this.context.watch(target);
          }

          receive(message: unknown): void {
            if (message === 'ready?') this.sender.tell('ready');
            else if (message === 'open') {
              this.context.become((next) => unstashed.resolve(next));
              this.context.unstashAll();
            } else this.context.stash();
          }
        })(),
    );
    await watcher.ask('ready?');
    await system.stop(target);
    expect(await watcher.ask('ready?')).toBe('ready'); // the Terminated is in the stash by now
    watcher.tell('open');
    watcher.tell('after');
    const first = await unstashed.promise;
    expect(first).toBeInstanceOf(Terminated);
    expect((first as Terminated).actor).toBe(target);
  });

  it('a parent watching its child gets Terminated when the child stops itself', async () => {
    const system = testSystem();
    const terminated = deferred<ActorRef>();
    const parent = system.actorOf(
      () =>
        new (class extends Actor {
          child!: ActorRef;
          override preStart(): void {
            this.child = this.context.watch(this.context.actorOf(() => new Idle(), 'kid'));
          }

          receive(message: unknown): void {
            if (message instanceof Terminated) terminated.resolve(message.actor);
            else this.child.tell(PoisonPill.instance);
          }
        })(),
    );
    parent.tell('stop your kid');
    expect((await terminated.promise).path).toBe(`${parent.path}/kid`);
  });
});

/** Stashes everything until 'open', then unstashes and handles messages normally. */
class Gate extends Actor {
  constructor(
    private readonly handled: unknown[],
    private readonly done: Deferred<void>,
    private readonly expected: number,
    private readonly errors: unknown[] = [],
  ) {
    super();
  }

  receive(message: unknown): void {
    if (message === 'open') {
      this.context.become((next) => this.#open(next));
      this.context.unstashAll();
      return;
    }
    if (message === 'stash size?') {
      this.sender.tell(this.context.stashSize);
      return;
    }
    try {
      this.context.stash();
    } catch (error) {
      this.errors.push(error);
    }
  }

  #open(message: unknown): void {
    this.handled.push(message);
    if (this.handled.length === this.expected) this.done.resolve();
  }
}

describe('stash', () => {
  it('unstashAll replays stashed messages first, in their order, before later ones', async () => {
    const system = testSystem();
    const handled: unknown[] = [];
    const done = deferred();
    const ref = system.actorOf(() => new Gate(handled, done, 6), 'gate');
    for (const message of ['s1', 's2', 's3']) ref.tell(message);
    ref.tell('open');
    for (const message of ['l1', 'l2', 'l3']) ref.tell(message);
    await done.promise;
    expect(handled).toEqual(['s1', 's2', 's3', 'l1', 'l2', 'l3']);
  });

  it('keeps the sender of each stashed message', async () => {
    const system = testSystem();
    const ref = system.actorOf(
      () =>
        new (class extends Actor {
          receive(message: unknown): void {
            if (message === 'open') {
              this.context.become((next) => {
                this.sender.tell(`reply to ${String(next)}`);
              });
              this.context.unstashAll();
            } else this.context.stash();
          }
        })(),
    );
    const first = ref.ask('first');
    const second = ref.ask('second');
    ref.tell('open');
    expect(await Promise.all([first, second])).toEqual(['reply to first', 'reply to second']);
  });

  it('throws StashOverflowError once the stash holds stashCapacity messages', async () => {
    const system = testSystem({ stashCapacity: 3 });
    const errors: unknown[] = [];
    const handled: unknown[] = [];
    const done = deferred();
    const ref = system.actorOf(() => new Gate(handled, done, 3, errors), 'gate');
    for (const message of ['1', '2', '3', '4', '5']) ref.tell(message);
    ref.tell('open');
    await done.promise;
    expect(handled).toEqual(['1', '2', '3']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(StashOverflowError);
    expect(errors[0]).toMatchObject({ code: 'ERR_STASH_OVERFLOW', path: '/user/gate', capacity: 3 });
  });

  it('stashed messages of a stopped actor are dead letters', async () => {
    const system = testSystem();
    const letters: DeadLetter[] = [];
    system.onDeadLetter((letter) => letters.push(letter));
    const ref = system.actorOf(() => new Gate([], deferred(), 1), 'gate');
    ref.tell('kept 1');
    ref.tell('kept 2');
    expect(await ref.ask('stash size?')).toBe(2);
    await system.stop(ref);
    expect(letters.map((letter) => letter.message)).toEqual(['kept 1', 'kept 2']);
    expect(letters.every((letter) => letter.recipient === '/user/gate')).toBe(true);
  });
});

describe('become', () => {
  it('switches behavior, stacks with discardOld=false, and unbecome goes back', async () => {
    const system = testSystem();
    const ref = system.actorOf(
      () =>
        new (class extends Actor {
          receive(message: unknown): void {
            if (message === 'to a') this.context.become(this.#as('a'));
            else this.sender.tell(`receive:${String(message)}`);
          }

          #as(label: string): (message: unknown) => void {
            return (message) => {
              if (message === 'to a') this.context.become(this.#as('a'));
              else if (message === 'push b') this.context.become(this.#as('b'), false);
              else if (message === 'replace with c') this.context.become(this.#as('c'));
              else if (message === 'unbecome') this.context.unbecome();
              else this.sender.tell(`${label}:${String(message)}`);
            };
          }
        })(),
    );
    const said: unknown[] = [];
    const step = async (command: string | undefined): Promise<void> => {
      if (command) ref.tell(command);
      said.push(await ref.ask('hi'));
    };
    await step(undefined);
    await step('to a');
    await step('push b');
    await step('unbecome');
    await step('push b');
    await step('replace with c');
    await step('unbecome');
    await step('unbecome');
    expect(said).toEqual(['receive:hi', 'a:hi', 'b:hi', 'a:hi', 'b:hi', 'c:hi', 'a:hi', 'receive:hi']);
  });
});
