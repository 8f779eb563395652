import { describe, expect, it } from 'vitest';
import {
  Actor,
  oneForOneStrategy,
  stoppingSupervisorStrategy,
  Terminated,
  type ActorFactory,
  type ActorRef,
  type Directive,
  type SupervisorStrategy,
} from '../../src/actor/index.js';
import { deferred, failOnProcessErrors, memoryLogger, testSystem, type Deferred } from './support.js';

failOnProcessErrors();

interface Events {
  readonly log: string[];
  instances: number;
}

/** Counts what it receives; 'throw' throws, 'reject' returns a rejected promise, 'count?' replies with the count. */
class Counter extends Actor {
  readonly instance: number;
  count = 0;

  constructor(private readonly events: Events) {
    super();
    this.instance = ++events.instances;
  }

  receive(message: unknown): void | Promise<void> {
    this.events.log.push(`#${this.instance} got ${String(message)}`);
    switch (message) {
      case 'throw':
        throw new Error('thrown');
      case 'reject':
        return Promise.reject(new Error('rejected'));
      case 'reject later':
        return new Promise((_resolve, reject) => setTimeout(() => reject(new Error('rejected later')), 5));
      case 'count?':
        this.sender.tell({ instance: this.instance, count: this.count });
        return;
      default:
        this.count++;
    }
  }

  override preRestart(reason: unknown, message: unknown): Promise<void> {
    this.events.log.push(`#${this.instance} preRestart ${(reason as Error).message} ${String(message)}`);
    return super.preRestart(reason, message);
  }

  override postRestart(reason: unknown): void | Promise<void> {
    this.events.log.push(`#${this.instance} postRestart ${(reason as Error).message}`);
    return super.postRestart(reason);
  }

  override postStop(): void {
    this.events.log.push(`#${this.instance} postStop`);
  }
}

/** Owns one child and applies `strategy` to it; records each decision. */
class Parent extends Actor {
  readonly child: ActorRef;

  constructor(
    childFactory: ActorFactory,
    private readonly strategy: SupervisorStrategy,
    private readonly terminated?: Deferred<ActorRef>,
  ) {
    super();
    this.child = this.context.watch(this.context.actorOf(childFactory, 'child'));
  }

  override get supervisorStrategy(): SupervisorStrategy {
    return this.strategy;
  }

  receive(message: unknown): void {
    if (message instanceof Terminated) this.terminated?.resolve(message.actor);
    else if (message === 'fail') throw new Error('parent failed');
    else this.sender.tell(this.child);
  }
}

/** Resolves `terminated` when `target` stops; answers any other message once it watches. */
class Watcher extends Actor {
  constructor(
    target: ActorRef,
    private readonly terminated: Deferred<ActorRef>,
  ) {
    super();
    this.context.watch(target);
  }

  receive(message: unknown): void {
    if (message instanceof Terminated) this.terminated.resolve(message.actor);
    else this.sender.tell('watching');
  }
}

/** Resolves once a watcher watches `target`; `terminated` then resolves when `target` stops. */
async function watch(system: ReturnType<typeof testSystem>, target: ActorRef): Promise<{ terminated: Promise<ActorRef> }> {
  const terminated = deferred<ActorRef>();
  await system.actorOf(() => new Watcher(target, terminated)).ask('ready?');
  // Wrapped: an async function returning the promise itself would wait for it.
  return { terminated: terminated.promise };
}

function recording(directive: Directive, decisions: unknown[], extra: Partial<SupervisorStrategy> = {}): SupervisorStrategy {
  return {
    ...oneForOneStrategy({
      decide: (error, child) => {
        decisions.push({ error: (error as Error).message, child: child.path });
        return directive;
      },
    }),
    ...extra,
  };
}

async function childOf(parent: ActorRef): Promise<ActorRef> {
  return parent.ask<ActorRef>('child?');
}

describe('supervision', () => {
  it.each(['throw', 'reject', 'reject later'])('a failure by %s goes to the parent strategy', async (how) => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const decisions: unknown[] = [];
    const parent = system.actorOf(() => new Parent(() => new Counter(events), recording('resume', decisions)), 'p');
    const child = await childOf(parent);
    child.tell(how);
    await child.ask('count?');
    expect(decisions).toEqual([{ error: how === 'throw' ? 'thrown' : how === 'reject' ? 'rejected' : 'rejected later', child: '/user/p/child' }]);
  });

  it('restart: a fresh instance from the factory, hooks run, the failing message is dropped, later ones handled', async () => {
    const { logger, lines } = memoryLogger();
    const system = testSystem({ logger });
    const events: Events = { log: [], instances: 0 };
    const parent = system.actorOf(() => new Parent(() => new Counter(events), oneForOneStrategy()), 'p');
    const child = await childOf(parent);
    child.tell('a');
    child.tell('b');
    child.tell('throw');
    child.tell('c');
    expect(await child.ask('count?')).toEqual({ instance: 2, count: 1 });
    expect(events.log).toEqual(['#1 got a', '#1 got b', '#1 got throw', '#1 preRestart thrown throw', '#1 postStop', '#2 postRestart thrown', '#2 got c', '#2 got count?']);
    // Same ref before and after: the restart is invisible to senders.
    expect(await childOf(parent)).toBe(child);
    const failure = lines.find((line) => line.msg.includes('the message is dropped'));
    expect(failure).toMatchObject({ actor: '/user/p/child', messageType: 'string', level: 50 });
  });

  it('restart stops the children of the failed instance (default preRestart) and preStart makes them anew', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    // The child of the restarting actor is itself a Parent with a Counter under it.
    const top = system.actorOf(() => new Parent(() => new Parent(() => new Counter(events), oneForOneStrategy()), oneForOneStrategy()), 'top');
    const middle = await childOf(top);
    const leafBefore = await childOf(middle);
    leafBefore.tell('x');
    expect(await leafBefore.ask('count?')).toEqual({ instance: 1, count: 1 });
    // Make the middle actor fail: its child is stopped and a new one is built by its fresh instance.
    middle.tell('fail');
    const leafAfter = await childOf(middle);
    expect(leafAfter.path).toBe('/user/top/child/child');
    expect(await leafAfter.ask('count?')).toEqual({ instance: 2, count: 0 });
    expect(events.log).toContain('#1 postStop');
  });

  it('resume keeps the instance and its state; only the failing message is lost', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const parent = system.actorOf(() => new Parent(() => new Counter(events), oneForOneStrategy({ decide: () => 'resume' })), 'p');
    const child = await childOf(parent);
    child.tell('a');
    child.tell('reject');
    child.tell('b');
    expect(await child.ask('count?')).toEqual({ instance: 1, count: 2 });
    expect(events.log.filter((line) => line.includes('Restart') || line.includes('postStop'))).toEqual([]);
  });

  it('stop: the child stops, its watcher gets Terminated, later messages are dead letters', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const terminated = deferred<ActorRef>();
    const parent = system.actorOf(() => new Parent(() => new Counter(events), stoppingSupervisorStrategy, terminated), 'p');
    const child = await childOf(parent);
    child.tell('throw');
    expect(await terminated.promise).toBe(child);
    expect(child.isTerminated).toBe(true);
    expect(events.log).toEqual(['#1 got throw', '#1 postStop']);
    const before = system.deadLetterCount;
    child.tell('after');
    expect(system.deadLetterCount).toBe(before + 1);
  });

  it('escalate: the parent fails with the error and the grandparent decides (here: restart the parent)', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const parentInstances: number[] = [];
    const secondParent = deferred();
    const decisions: unknown[] = [];
    const grand = system.actorOf(
      () =>
        new Parent(
          () => {
            parentInstances.push(parentInstances.length + 1);
            if (parentInstances.length === 2) secondParent.resolve();
            return new Parent(() => new Counter(events), recording('escalate', decisions));
          },
          recording('restart', decisions),
        ),
      'grand',
    );
    const parent = await childOf(grand);
    const child = await childOf(parent);
    child.tell('a');
    child.tell('throw');
    await secondParent.promise;
    expect(decisions).toEqual([
      { error: 'thrown', child: '/user/grand/child/child' },
      { error: 'thrown', child: '/user/grand/child' },
    ]);
    expect(parentInstances).toEqual([1, 2]);
    // The restarted parent built a new child (its constructor makes one), whose count starts at zero.
    const newChild = await childOf(parent);
    expect(newChild).not.toBe(child);
    expect(await newChild.ask('count?')).toEqual({ instance: 2, count: 0 });
    expect(child.isTerminated).toBe(true);
  });

  it('escalate while the parent is inside an async receive: the parent fails once that settled, never two handlers at once', async () => {
    const system = testSystem();
    const events: string[] = [];
    const decided = deferred();
    const release = deferred();
    const done = deferred();
    class Child extends Actor {
      receive(): void {
        throw new Error('child failed');
      }
    }
    class EscalatingParent extends Actor {
      readonly child = this.context.actorOf(() => new Child(), 'c');

      override get supervisorStrategy(): SupervisorStrategy {
        return oneForOneStrategy({
          decide: () => {
            decided.resolve();
            return 'escalate';
          },
        });
      }

      override postRestart(): void {
        events.push('postRestart');
      }

      async receive(message: unknown): Promise<void> {
        events.push(`start ${String(message)}`);
        if (message === 'slow') {
          this.child.tell('fail now');
          await release.promise;
        }
        events.push(`end ${String(message)}`);
        if (message === 'next') done.resolve();
      }
    }
    const parent = system.actorOf(() => new EscalatingParent(), 'p');
    parent.tell('slow');
    await decided.promise;
    parent.tell('next');
    // Give a restart that would not wait the chance to run, then let the slow handler finish.
    await new Promise((resolve) => setImmediate(resolve));
    release.resolve();
    await done.promise;
    expect(events).toEqual(['start slow', 'end slow', 'postRestart', 'start next', 'end next']);
  });

  it('escalating from a top-level actor stops the failing child', async () => {
    const system = testSystem({ guardianSupervisorStrategy: oneForOneStrategy({ decide: () => 'escalate' }) });
    const events: Events = { log: [], instances: 0 };
    const top = system.actorOf(() => new Counter(events), 'top');
    const { terminated } = await watch(system, top);
    top.tell('throw');
    expect(await terminated).toBe(top);
    expect(events.log).toEqual(['#1 got throw', '#1 postStop']);
  });

  it('more than maxRestarts failures within withinMs stop the child', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const terminated = deferred<ActorRef>();
    const parent = system.actorOf(() => new Parent(() => new Counter(events), oneForOneStrategy({ maxRestarts: 2, withinMs: 60_000 }), terminated), 'p');
    const child = await childOf(parent);
    child.tell('throw');
    child.tell('throw');
    expect(await child.ask('count?')).toEqual({ instance: 3, count: 0 });
    child.tell('throw');
    expect(await terminated.promise).toBe(child);
    expect(events.instances).toBe(3);
  });

  it('failures spread out wider than withinMs do not exhaust maxRestarts', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const parent = system.actorOf(() => new Parent(() => new Counter(events), oneForOneStrategy({ maxRestarts: 1, withinMs: 20 })), 'p');
    const child = await childOf(parent);
    for (let i = 1; i <= 3; i++) {
      child.tell('throw');
      expect(await child.ask('count?')).toEqual({ instance: i + 1, count: 0 });
      // Past the window, the earlier restart no longer counts.
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  });

  it('a strategy that throws while deciding stops the child', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const terminated = deferred<ActorRef>();
    const strategy: SupervisorStrategy = {
      decide: () => {
        throw new Error('bug in the strategy');
      },
    };
    const parent = system.actorOf(() => new Parent(() => new Counter(events), strategy, terminated), 'p');
    const child = await childOf(parent);
    child.tell('throw');
    expect(await terminated.promise).toBe(child);
  });

  it('a supervisorStrategy getter that throws stops the child, and nothing escapes into the process', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const terminated = deferred<ActorRef>();
    class BrokenParent extends Parent {
      override get supervisorStrategy(): SupervisorStrategy {
        throw new Error('bug in the getter');
      }
    }
    const parent = system.actorOf(() => new BrokenParent(() => new Counter(events), oneForOneStrategy(), terminated), 'p');
    const child = await childOf(parent);
    child.tell('throw');
    expect(await terminated.promise).toBe(child);
    // The runtime goes on: the parent still answers.
    expect(await childOf(parent)).toBe(child);
  });

  it('top-level actors are restarted by default', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const top = system.actorOf(() => new Counter(events), 'top');
    top.tell('a');
    top.tell('reject');
    expect(await top.ask('count?')).toEqual({ instance: 2, count: 0 });
  });

  it('an actor whose preStart fails is stopped (not restarted in a loop)', async () => {
    const { logger, lines } = memoryLogger();
    const system = testSystem({ logger });
    let built = 0;
    const ref = system.actorOf(
      () =>
        new (class extends Actor {
          constructor() {
            super();
            built++;
          }

          override async preStart(): Promise<void> {
            throw new Error('cannot start');
          }

          receive(): void {}
        })(),
      'broken',
    );
    expect(await (await watch(system, ref)).terminated).toBe(ref);
    expect(ref.isTerminated).toBe(true);
    expect(built).toBe(1);
    expect(lines.some((line) => line.actor === '/user/broken' && line.msg.includes('preStart failed'))).toBe(true);
  });

  it('a factory that throws on restart stops the actor', async () => {
    const system = testSystem();
    const events: Events = { log: [], instances: 0 };
    const terminated = deferred<ActorRef>();
    let calls = 0;
    const parent = system.actorOf(
      () =>
        new Parent(
          () => {
            if (++calls > 1) throw new Error('factory broke');
            return new Counter(events);
          },
          oneForOneStrategy(),
          terminated,
        ),
      'p',
    );
    const child = await childOf(parent);
    child.tell('throw');
    expect(await terminated.promise).toBe(child);
    expect(calls).toBe(2);
  });
});
