/**
 * Type-level tests: what the types let through and what they refuse. `npm run lint` (tsc) checks them:
 * each `// @ts-expect-error` line must fail to compile, or tsc reports the directive as unused. The
 * runtime part only makes sure the typed calls also work.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  Actor,
  ActorSystem,
  AtLeastOnceDeliveryActor,
  BackoffSupervisor,
  DeliveryConfirmed,
  PersistentActor,
  ReceivePersistentActor,
  RecoveryCompleted,
  SaveSnapshotSuccess,
  SnapshotOffer,
  inMemoryJournal,
  inMemorySnapshotStore,
  type ActorRef,
  type Destination,
  type MessageOf,
  type PersistenceReply,
  type RecoveryMessage,
  type TransportDestination,
} from '../../src/index.js';
import { httpDestination, type HttpDestination } from '../../delivery/http/index.js';
import { queueDestination } from '../../delivery/amqp/index.js';

class Increment {
  constructor(readonly by: number) {}
}
class Get {
  readonly kind = 'get';
}

class Counter extends Actor<Increment | Get> {
  count = 0;
  receive(message: Increment | Get): void {
    if (message instanceof Increment) this.count += message.by;
    else this.sender.tell(this.count);
  }
}

/** Untyped: takes anything, as before. */
class Echo extends Actor {
  receive(message: unknown): void {
    this.sender.tell(message);
  }
}

type Cmd = { type: 'add'; n: number } | { type: 'total' };
type Ev = { type: 'added'; n: number };

/** Declares `onCommand(command: Cmd)`: no snapshot replies to expect, so none in the signature. */
class Totals extends PersistentActor<Cmd, Ev> {
  total = 0;
  constructor(readonly persistenceId: string) {
    super();
  }
  onCommand(command: Cmd): void {
    switch (command.type) {
      case 'add':
        void this.persist({ type: 'added', n: command.n }, (event) => {
          this.total += event.n;
          this.sender.tell(this.total);
        });
        return;
      case 'total':
        this.sender.tell(this.total);
    }
  }
  onRecover(message: RecoveryMessage<Ev>): void {
    if (message instanceof SnapshotOffer || message instanceof RecoveryCompleted) return;
    this.total += message.n;
  }
}

class Snapshotting extends PersistentActor<Cmd, Ev> {
  readonly persistenceId = 'snapshotting';
  onCommand(command: Cmd | PersistenceReply): void {
    if (command instanceof SaveSnapshotSuccess) expectTypeOf(command).toEqualTypeOf<SaveSnapshotSuccess>();
  }
  onRecover(): void {}
}

class ReceiveTotals extends ReceivePersistentActor<Cmd, Ev> {
  readonly persistenceId = 'receive-totals';
  constructor() {
    super();
    this.command('add', (command) => expectTypeOf(command).toEqualTypeOf<{ type: 'add'; n: number }>());
  }
}

class Sender extends AtLeastOnceDeliveryActor<{ type: 'send'; to: Destination }, Ev> {
  readonly persistenceId = 'sender';
  onCommand(command: { type: 'send'; to: Destination } | DeliveryConfirmed): void {
    if (command instanceof DeliveryConfirmed) this.confirmDelivery(command.deliveryId);
  }
  onRecover(): void {}
}

function typeOnly(_check: () => void): void {}

describe('typed refs', () => {
  it('actorOf returns a ref that accepts the actor’s messages only', () => {
    typeOnly(() => {
      const system = ActorSystem.create('types');
      const counter = system.actorOf(() => new Counter());
      expectTypeOf(counter).toEqualTypeOf<ActorRef<Increment | Get>>();
      counter.tell(new Increment(1));
      // @ts-expect-error: not a message of Counter
      counter.tell({ sub: 1 });
      // @ts-expect-error: not a message of Counter
      void counter.ask('get');

      // An untyped actor's ref stays ActorRef<unknown>: anything goes.
      const echo = system.actorOf(() => new Echo());
      expectTypeOf(echo).toEqualTypeOf<ActorRef>();
      echo.tell({ sub: 1 });

      // Persistent actors: refs take the Command type, not the persistence replies.
      const totals = system.actorOf(() => new Totals('t'));
      expectTypeOf(totals).toEqualTypeOf<ActorRef<Cmd>>();
      totals.tell({ type: 'add', n: 1 });
      // @ts-expect-error: a typo in the discriminant
      totals.tell({ type: 'ad', n: 1 });
      // @ts-expect-error: persistence replies are not commands others send
      totals.tell(new SaveSnapshotSuccess({ persistenceId: 't', sequenceNr: 1, timestamp: 0 }));
      expectTypeOf(system.actorOf(() => new Snapshotting())).toEqualTypeOf<ActorRef<Cmd>>();
      expectTypeOf(system.actorOf(() => new ReceiveTotals())).toEqualTypeOf<ActorRef<Cmd>>();
      expectTypeOf<MessageOf<Sender>>().toEqualTypeOf<{ type: 'send'; to: Destination }>();

      // A backoff supervisor forwards to its child, so its ref takes the child's messages.
      const supervised = system.actorOf(BackoffSupervisor.props({ child: () => new Counter(), childName: 'c', minBackoffMs: 1, maxBackoffMs: 2 }));
      expectTypeOf(supervised).toEqualTypeOf<ActorRef<Increment | Get>>();
      // @ts-expect-error: not a message of the supervised Counter
      supervised.tell('x');
    });
  });

  it('a specific ref is still an ActorRef (a sender, a destination); unrelated refs are not interchangeable', () => {
    typeOnly(() => {
      const system = ActorSystem.create('types');
      const counter = system.actorOf(() => new Counter());
      const totals = system.actorOf(() => new Totals('t'));
      const anyRef: ActorRef = counter;
      anyRef.tell('anything', totals);
      const destination: Destination = counter;
      void system.stop(totals);
      void destination;
      // @ts-expect-error: a Counter ref does not take Totals' commands
      const wrong: ActorRef<Cmd> = counter;
      void wrong;
    });
  });

  it('ask is typed by its reply', async () => {
    const system = ActorSystem.create('typed-ask', { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() });
    try {
      const counter = system.actorOf(() => new Counter());
      counter.tell(new Increment(2));
      const count = counter.ask<number>(new Get());
      expectTypeOf(count).toEqualTypeOf<Promise<number>>();
      expectTypeOf(counter.ask(new Get())).toEqualTypeOf<Promise<unknown>>();
      expect(await count).toBe(2);

      const viaSystem = system.ask<number>(counter, new Get());
      expectTypeOf(viaSystem).toEqualTypeOf<Promise<number>>();
      expect(await viaSystem).toBe(2);
      // @ts-expect-error: the message must fit the target (checked when the type arguments are inferred)
      void system.ask(counter, { sub: 1 }).catch(() => {});

      const totals = system.actorOf(() => new Totals('typed-ask-totals'));
      expect(await totals.ask<number>({ type: 'add', n: 5 })).toBe(5);
    } finally {
      await system.terminate();
    }
  });

  it('transport destinations name registered transports only', () => {
    typeOnly(() => {
      const http: Destination = { transport: 'http', url: 'https://example.com/hook' };
      const amqp: Destination = { transport: 'amqp', queue: 'orders' };
      // @ts-expect-error: misspelt transport name
      const typo: Destination = { transport: 'htpp', url: 'https://example.com/hook' };
      // @ts-expect-error: an http destination needs a url
      const noUrl: Destination = { transport: 'http' };
      // @ts-expect-error: misspelt, also when only the name is typed
      const named: TransportDestination = { transport: 'amqpp', queue: 'orders' };
      // A transport of one's own registers its name (test/delivery/support/delivery-fixtures.ts adds 'fake').
      const own: Destination = { transport: 'fake', topic: 'orders' };
      expectTypeOf(httpDestination('https://example.com/hook')).toEqualTypeOf<HttpDestination>();
      const built: Destination[] = [httpDestination('https://example.com/hook'), queueDestination('orders')];
      // Plain data: a destination survives JSON.
      const roundTripped: unknown = JSON.parse(JSON.stringify(http));
      void [http, amqp, typo, noUrl, named, own, built, roundTripped];
    });
  });
});
