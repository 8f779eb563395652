/**
 * AtLeastOnceDeliveryActor against Akka's semantics (in the spirit of AtLeastOnceDeliverySpec and
 * AtLeastOnceDeliveryFailureSpec), with in-memory plugins; a second ActorSystem on the same plugin
 * instances plays the restarted process.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ActorSystem,
  AtLeastOnceDeliveryActor,
  DeleteMessagesFailure,
  DeleteMessagesSuccess,
  DeliveryConfirmed,
  DeliveryStateDeletionError,
  MaxUnconfirmedMessagesExceededError,
  RecoveryCompleted,
  SaveSnapshotSuccess,
  SnapshotOffer,
  StatusFailure,
  UnconfirmedWarning,
  inMemoryJournal,
  inMemorySnapshotStore,
  type ActorRef,
  type AtLeastOnceDeliveryOptions,
  type AtLeastOnceDeliverySnapshot,
  type DeliveryTransport,
  type OutboundDelivery,
  type PersistenceReply,
  type TransportContext,
  type TransportDestination,
} from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';

type Payload = { readonly id: number; readonly text: string };
type Command =
  | { type: 'send'; text: string }
  | { type: 'deliver'; text: string }
  | { type: 'viaTransport'; destination: TransportDestination }
  | { type: 'snap' } | { type: 'delete'; to: number } | { type: 'state' } | DeliveryConfirmed;
type Event = { type: 'sent'; text: string; to?: TransportDestination } | { type: 'confirmed'; id: number };

/** Persists what it sends and what was confirmed; reports protocol replies to `reports`. */
class Sender extends AtLeastOnceDeliveryActor<Command, Event> {
  constructor(
    readonly persistenceId: string,
    private readonly destination: ActorRef | string,
    private readonly reports: ActorRef,
    options: AtLeastOnceDeliveryOptions = {},
  ) {
    super(options);
  }

  onCommand(command: Command | PersistenceReply | UnconfirmedWarning): void {
    if (command instanceof DeliveryConfirmed) {
      if (this.isUnconfirmed(command.deliveryId)) void this.persist({ type: 'confirmed', id: command.deliveryId }, (event) => this.#apply(event));
      return;
    }
    if (command instanceof UnconfirmedWarning || command instanceof SaveSnapshotSuccess || command instanceof DeleteMessagesSuccess || command instanceof DeleteMessagesFailure) {
      this.reports.tell(command);
      return;
    }
    if (!('type' in command)) return;
    switch (command.type) {
      case 'send':
        void this.persist({ type: 'sent', text: command.text }, (event) => this.#apply(event));
        return;
      case 'deliver':
        // Straight from the command handler (nothing persisted), so the error reaches the asker.
        try {
          this.sender.tell(this.deliver(this.destination, (id) => ({ id, text: command.text }) satisfies Payload));
        } catch (error) {
          this.sender.tell(new StatusFailure(error as Error));
        }
        return;
      case 'viaTransport':
        void this.persist({ type: 'sent', text: String(command.destination.topic), to: command.destination }, (event) => this.#apply(event));
        return;
      case 'snap':
        this.saveSnapshot(this.getDeliverySnapshot());
        return;
      case 'delete':
        this.deleteMessages(command.to);
        return;
      case 'state':
        this.sender.tell({ unconfirmed: this.unconfirmedCount, currentDeliveryId: this.currentDeliveryId, lastSequenceNr: this.lastSequenceNr });
        return;
    }
  }

  onRecover(message: Event | SnapshotOffer | RecoveryCompleted): void {
    if (message instanceof RecoveryCompleted) return;
    if (message instanceof SnapshotOffer) {
      this.setDeliverySnapshot(message.snapshot as AtLeastOnceDeliverySnapshot);
      return;
    }
    this.#apply(message);
  }

  #apply(event: Event): void {
    if (event.type === 'sent') this.deliver(event.to ?? this.destination, (id) => ({ id, text: event.text }) satisfies Payload);
    else this.confirmDelivery(event.id);
  }
}

let systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.map((system) => system.terminate()));
  systems = [];
});

function plugins() {
  return { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() };
}

function start(stores: ReturnType<typeof plugins>, name = 'alod'): { system: ActorSystem; destination: TestProbe; reports: TestProbe } {
  const system = ActorSystem.create(name, { ...stores });
  systems.push(system);
  return { system, destination: TestProbe.create(system, 'destination'), reports: TestProbe.create(system, 'reports') };
}

const isPayload = (message: unknown): message is Payload => typeof (message as Payload)?.id === 'number';

describe('AtLeastOnceDeliveryActor', () => {
  it('numbers deliveries from 1, redelivers what is lost, and stops once confirmed', async () => {
    const { system, destination, reports } = start(plugins());
    const sender = system.actorOf(() => new Sender('s1', destination.ref, reports.ref, { redeliverInterval: 100 }), 'sender');
    sender.tell({ type: 'send', text: 'a' });
    sender.tell({ type: 'send', text: 'b' });
    // First sends are "lost": not confirmed.
    expect(await destination.expectMsg<Payload>(isPayload)).toEqual({ id: 1, text: 'a' });
    expect(await destination.expectMsg<Payload>(isPayload)).toEqual({ id: 2, text: 'b' });
    // Redelivered, oldest first, then confirmed.
    const again = await destination.receiveN(2, 2000);
    expect(again).toEqual([{ id: 1, text: 'a' }, { id: 2, text: 'b' }]);
    destination.lastSender.tell(new DeliveryConfirmed(1));
    destination.lastSender.tell(new DeliveryConfirmed(2));
    // An unknown id changes nothing.
    destination.lastSender.tell(new DeliveryConfirmed(99));
    await expect.poll(async () => (await sender.ask<{ unconfirmed: number }>({ type: 'state' })).unconfirmed).toBe(0);
    // Confirmed deliveries are not sent again (generous: several redelivery intervals).
    await destination.expectNoMessage(400);
  });

  it('sends nothing while recovering and redelivers every unconfirmed delivery before any new command', async () => {
    const stores = plugins();
    const first = start(stores, 'before-crash');
    const sender = first.system.actorOf(() => new Sender('s2', '/user/destination', first.reports.ref, { redeliverInterval: 60_000 }), 'sender');
    for (const text of ['a', 'b', 'c']) sender.tell({ type: 'send', text });
    await first.destination.receiveN(3);
    first.destination.lastSender.tell(new DeliveryConfirmed(2));
    await expect.poll(async () => (await sender.ask<{ unconfirmed: number }>({ type: 'state' })).unconfirmed).toBe(2);
    await first.system.terminate();

    const second = start(stores, 'after-crash');
    const restarted = second.system.actorOf(() => new Sender('s2', '/user/destination', second.reports.ref, { redeliverInterval: 60_000 }), 'sender');
    // Told before the actor even started recovering: it must come after the redeliveries.
    restarted.tell({ type: 'send', text: 'd' });
    const received = await second.destination.receiveN(3);
    expect(received).toEqual([{ id: 1, text: 'a' }, { id: 3, text: 'c' }, { id: 4, text: 'd' }]);
  });

  it('restores the delivery counter and unconfirmed set from a snapshot; ids are never reused, even after deleting the events', async () => {
    const stores = plugins();
    const first = start(stores, 'snap-1');
    const sender = first.system.actorOf(() => new Sender('s3', '/user/destination', first.reports.ref, { redeliverInterval: 60_000 }), 'sender');
    for (const text of ['a', 'b', 'c']) sender.tell({ type: 'send', text });
    await first.destination.receiveN(3);
    first.destination.lastSender.tell(new DeliveryConfirmed(1));
    await expect.poll(async () => (await sender.ask<{ unconfirmed: number }>({ type: 'state' })).unconfirmed).toBe(2);
    // Deleting events that carry delivery state without a snapshot covering them is refused (Akka.NET #2372).
    sender.tell({ type: 'delete', to: 4 });
    const refused = await first.reports.expectMsgType(DeleteMessagesFailure);
    expect(refused.cause).toBeInstanceOf(DeliveryStateDeletionError);
    sender.tell({ type: 'snap' });
    await first.reports.expectMsgType(SaveSnapshotSuccess);
    sender.tell({ type: 'delete', to: 4 });
    expect((await first.reports.expectMsgType(DeleteMessagesSuccess)).toSequenceNr).toBe(4);
    await first.system.terminate();

    const second = start(stores, 'snap-2');
    const restarted = second.system.actorOf(() => new Sender('s3', '/user/destination', second.reports.ref, { redeliverInterval: 60_000 }), 'sender');
    expect(await second.destination.receiveN(2)).toEqual([{ id: 2, text: 'b' }, { id: 3, text: 'c' }]);
    restarted.tell({ type: 'send', text: 'd' });
    expect(await second.destination.expectMsg<Payload>(isPayload)).toEqual({ id: 4, text: 'd' });
    expect(await restarted.ask({ type: 'state' })).toMatchObject({ unconfirmed: 3, currentDeliveryId: 4, lastSequenceNr: 5 });
  });

  it('redelivers at most redeliveryBurstLimit per tick, oldest first', async () => {
    const { system, destination, reports } = start(plugins());
    const sender = system.actorOf(() => new Sender('s4', destination.ref, reports.ref, { redeliverInterval: 1000, redeliveryBurstLimit: 3 }), 'sender');
    for (let i = 0; i < 10; i++) sender.tell({ type: 'send', text: `m${i}` });
    const firstSends = (await destination.receiveN(10)) as Payload[];
    expect(firstSends.map((p) => p.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Ticks come every interval/2: the first tick after the interval sends exactly the three oldest, the
    // next one (500 ms later, before 1-3 are due again) the next three.
    const burst = (await destination.receiveN(3, 3000)) as Payload[];
    expect(burst.map((p) => p.id)).toEqual([1, 2, 3]);
    const next = (await destination.receiveN(3, 3000)) as Payload[];
    expect(next.map((p) => p.id)).toEqual([4, 5, 6]);
  });

  it('warns after warnAfterNumberOfUnconfirmedAttempts sends, once per delivery', async () => {
    const { system, destination, reports } = start(plugins());
    const sender = system.actorOf(() => new Sender('s5', destination.ref, reports.ref, { redeliverInterval: 50, warnAfterNumberOfUnconfirmedAttempts: 3 }), 'sender');
    sender.tell({ type: 'send', text: 'x' });
    const warning = await reports.expectMsgType(UnconfirmedWarning, 5000);
    expect(warning.unconfirmedDeliveries).toEqual([{ deliveryId: 1, destination: destination.ref.path, message: { id: 1, text: 'x' }, attempt: 3 }]);
    const attempts = (await destination.receiveN(3, 5000)) as Payload[];
    expect(attempts.every((p) => p.id === 1)).toBe(true);
    // Attempts 4, 5, ... (every 50 ms) do not warn again.
    await reports.expectNoMessage(300);
  });

  it('throws MaxUnconfirmedMessagesExceededError past maxUnconfirmedMessages, leaving the state unchanged', async () => {
    const { system, destination, reports } = start(plugins());
    const sender = system.actorOf(() => new Sender('s6', destination.ref, reports.ref, { redeliverInterval: 60_000, maxUnconfirmedMessages: 2 }), 'sender');
    await sender.ask({ type: 'deliver', text: 'a' });
    await sender.ask({ type: 'deliver', text: 'b' });
    await expect(sender.ask({ type: 'deliver', text: 'c' })).rejects.toBeInstanceOf(MaxUnconfirmedMessagesExceededError);
    expect(await sender.ask({ type: 'state' })).toMatchObject({ unconfirmed: 2, currentDeliveryId: 2 });
    sender.tell(new DeliveryConfirmed(1));
    expect(await sender.ask({ type: 'deliver', text: 'd' })).toBe(3);
  });

  it('runs no redelivery timer while nothing is unconfirmed', async () => {
    const { system, destination, reports } = start(plugins());
    let instance: Sender | undefined;
    system.actorOf(() => (instance = new Sender('s7', destination.ref, reports.ref, { redeliverInterval: 20 })), 'sender');
    await expect.poll(() => instance?.isRecovering === false).toBe(true);
    const timers = (instance as unknown as { context: { timers: { size?: number } } }).context.timers;
    expect(timers.size ?? 0).toBe(0);
    instance!.self.tell({ type: 'send', text: 'a' });
    await destination.expectMsg<Payload>(isPayload);
    expect(timers.size).toBe(1);
    destination.lastSender.tell(new DeliveryConfirmed(1));
    await expect.poll(() => timers.size).toBe(0);
  });

  it('keeps its redelivery schedule when the wall clock jumps (monotonic clock)', async () => {
    const { system, destination, reports } = start(plugins());
    const sender = system.actorOf(() => new Sender('s8', destination.ref, reports.ref, { redeliverInterval: 300 }), 'sender');
    const realNow = Date.now.bind(Date);
    const clock = vi.spyOn(Date, 'now');
    try {
      sender.tell({ type: 'send', text: 'a' });
      await destination.expectMsg<Payload>(isPayload);
      clock.mockImplementation(() => realNow() + 3_600_000);
      // An hour "later" by the wall clock is no reason to redeliver before the interval is over.
      await destination.expectNoMessage(150);
      expect(await destination.expectMsg<Payload>(isPayload, 2000)).toEqual({ id: 1, text: 'a' });
      clock.mockImplementation(() => realNow() - 3_600_000);
      // Nor is an hour "earlier" a reason to stall.
      expect(await destination.expectMsg<Payload>(isPayload, 2000)).toEqual({ id: 1, text: 'a' });
    } finally {
      clock.mockRestore();
    }
  });

  it('sends to transport destinations and takes the transport\'s confirmation, also after a restart', async () => {
    const sent: OutboundDelivery[] = [];
    let confirmNow = false;
    let context: TransportContext | undefined;
    const fake: DeliveryTransport = {
      name: 'fake',
      validateDestination(destination) {
        if (typeof destination.topic !== 'string') throw new Error('topic missing');
      },
      async start(ctx) {
        context = ctx;
      },
      async send(_destination, delivery) {
        sent.push(delivery);
        if (confirmNow) context!.confirm(delivery.senderId, delivery.deliveryId);
      },
      async close() {},
    };
    const stores = plugins();
    const first = ActorSystem.create('transport-1', { ...stores, transports: [fake] });
    systems.push(first);
    const reports = TestProbe.create(first);
    const sender = first.actorOf(() => new Sender('s9', '/unused', reports.ref, { redeliverInterval: 60_000 }), 'sender');
    const destination = { transport: 'fake', topic: 'orders' };
    (sender as ActorRef).tell({ type: 'viaTransport', destination });
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]).toMatchObject({ senderId: 's9', deliveryId: 1, message: { id: 1, text: 'orders' }, attempt: 1, oldestUnconfirmedId: 1 });
    await first.terminate();

    confirmNow = true;
    const second = ActorSystem.create('transport-2', { ...stores, transports: [fake] });
    systems.push(second);
    const restarted = second.actorOf(() => new Sender('s9', '/unused', TestProbe.create(second).ref, { redeliverInterval: 60_000 }), 'sender');
    await expect.poll(async () => (await restarted.ask<{ unconfirmed: number }>({ type: 'state' })).unconfirmed).toBe(0);
    expect(sent.map((delivery) => [delivery.deliveryId, delivery.attempt])).toEqual([[1, 1], [1, 1]]);
  });
});
