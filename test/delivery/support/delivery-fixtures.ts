/**
 * Shared fixtures for the at-least-once delivery tests: a persistent sender that reports what it does
 * to probes, a destination that loses the first messages, a manual monotonic clock, a fake transport,
 * and plugin instances that outlive an ActorSystem (a second system on them plays the restarted process).
 */
import { afterEach } from 'vitest';
import {
  type AsyncWriteJournal,
  type SnapshotStore,
  Actor,
  ActorSystem,
  AtLeastOnceDeliveryActor,
  DeleteMessagesFailure,
  DeleteMessagesSuccess,
  DeliveryAttemptsExhausted,
  DeliveryConfirmed,
  RecoveryCompleted,
  SaveSnapshotSuccess,
  SnapshotOffer,
  SnapshotSelectionCriteria,
  StatusFailure,
  UnconfirmedWarning,
  InMemoryJournal as InMemoryJournalClass,
  InMemorySnapshotStore as InMemorySnapshotStoreClass,
  inMemoryJournal,
  inMemorySnapshotStore,
  type ActorRef,
  type ActorSystemOptions,
  type AtLeastOnceDeliveryOptions,
  type AtLeastOnceDeliverySnapshot,
  type DeliveryInfo,
  type DeliveryTransport,
  type Destination,
  type OutboundDelivery,
  type PersistenceReply,
  type PlainDestination,
  type TransportContext,
  type TransportDestination,
  type OutboxEvent,
} from '../../../src/index.js';
import { pino } from 'pino';
import { TestJournal, type TestProbe } from '../../../journal/testkit/index.js';
import { ManualClock } from '../../support/manual-clock.js';

// The fake transport's destinations, registered as a user's own transport would register its own.
declare module '../../../src/index.js' {
  interface TransportNames {
    fake: TransportDestination<'fake'> & { readonly topic: string };
  }
}

// The in-memory journal's "nothing survives the process" warning is noise in these tests.
const silentLogger = pino({ level: 'silent' });

// --- plugins and systems ------------------------------------------------------------------------------

export interface Stores {
  readonly journal: AsyncWriteJournal;
  readonly snapshotStore: SnapshotStore;
}

type InMemorySnapshotStore = InMemorySnapshotStoreClass;

export function stores(): Stores {
  return { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() };
}

/** Tracks the systems a test starts so `terminateAll` (in afterEach) stops every one, also after a failure. */
export class Systems {
  #started: ActorSystem[] = [];

  start(name: string, plugins: Stores, extra: Pick<ActorSystemOptions, 'transports' | 'atLeastOnceDelivery' | 'logger'> = {}): ActorSystem {
    const system = ActorSystem.create(name, { ...plugins, ...extra });
    this.#started.push(system);
    return system;
  }

  async terminateAll(): Promise<void> {
    const started = this.#started;
    this.#started = [];
    await Promise.all(started.map((system) => system.terminate()));
  }
}

/**
 * Systems and a manual clock for the tests of one file or describe block: an afterEach (registered
 * here) terminates every system started through `systems` and restores the clock, also after a failure.
 */
export function systemsWithClock(): { readonly systems: Systems; installClock(): ManualClock } {
  const systems = new Systems();
  let clock: ManualClock | undefined;
  afterEach(async () => {
    await systems.terminateAll();
    clock?.restore();
    clock = undefined;
  });
  return { systems, installClock: () => (clock = ManualClock.install()) };
}

// --- what the sender reports ----------------------------------------------------------------------

export type Payload = { readonly id: number; readonly text: string };

export const isPayload = (message: unknown): message is Payload =>
  message !== null && typeof message === 'object' && typeof (message as Payload).id === 'number' && typeof (message as Payload).text === 'string';

/** Recovery finished: how many sends happened before RecoveryCompleted (must be 0) and what was rebuilt. */
export class Recovered {
  constructor(
    readonly sendsDuringRecovery: number,
    readonly unconfirmed: number,
    readonly currentDeliveryId: number,
  ) {}
}

/** A DeliveryConfirmed was handled: the confirmation event is persisted and confirmDelivery ran. */
export class Confirmed {
  constructor(
    readonly deliveryId: number,
    readonly unconfirmedLeft: number,
  ) {}
}

/** Told to the tick probe at the start of each redelivery tick, before that tick sends anything. */
export class Tick {
  constructor(readonly n: number) {}
}

export interface SenderState {
  readonly unconfirmed: number;
  readonly currentDeliveryId: number;
  readonly lastSequenceNr: number;
  /** With attempts and times, which getDeliverySnapshot() leaves out. */
  readonly deliveries: readonly DeliveryInfo[];
}

export type SenderCommand =
  | { type: 'send'; text: string; to?: PlainDestination }
  | { type: 'deliver'; text: string }
  | { type: 'confirm-directly'; id: number }
  /**
   * Saves a snapshot: the delivery state itself (default), the delivery state as a field next to
   * other state, other state only, or the delivery state last read with 'read-delivery-snapshot'.
   */
  | { type: 'snap'; holding?: 'delivery-state' | 'delivery-field' | 'other-state' | 'last-read' }
  /** Reads getDeliverySnapshot() without saving it (what a metrics probe does) and replies with it. */
  | { type: 'read-delivery-snapshot' }
  | { type: 'delete'; to: number }
  | { type: 'state' }
  | { type: 'crash' };

export type SenderEvent = { type: 'sent'; text: string; to?: PlainDestination } | { type: 'confirmed'; id: number } | { type: 'gave-up'; ids: number[] };

export interface SenderOptions {
  persistenceId: string;
  destination: Destination;
  /** Receives Recovered, Confirmed, UnconfirmedWarning, DeliveryAttemptsExhausted and snapshot/deletion replies. */
  reports: ActorRef;
  /** Receives a Tick at the start of every redelivery tick (give it the destination probe to see which sends a tick made). */
  ticks?: ActorRef;
  settings?: AtLeastOnceDeliveryOptions;
}

/**
 * The redelivery tick is internal (not exported); the timer hands it to aroundReceive, where it is
 * recognised by its class name so the tests can observe ticks without reaching into the module.
 */
function isRedeliveryTick(message: unknown): boolean {
  return message !== null && typeof message === 'object' && message.constructor.name === 'RedeliveryTick';
}

/** Akka's canonical sender: persists what it sends and each confirmation, delivers from event handlers. */
export class Sender extends AtLeastOnceDeliveryActor<SenderCommand, SenderEvent> {
  readonly persistenceId: string;
  readonly #options: SenderOptions;
  #ticks = 0;
  #lastRead: AtLeastOnceDeliverySnapshot | undefined;

  constructor(options: SenderOptions) {
    super(options.settings ?? {});
    this.persistenceId = options.persistenceId;
    this.#options = options;
  }

  override aroundReceive(message: unknown): void | Promise<void> {
    if (this.#options.ticks && isRedeliveryTick(message)) this.#options.ticks.tell(new Tick(++this.#ticks));
    return super.aroundReceive(message);
  }

  onCommand(command: SenderCommand | PersistenceReply | DeliveryConfirmed | UnconfirmedWarning | DeliveryAttemptsExhausted): void {
    const reports = this.#options.reports;
    if (command instanceof DeliveryConfirmed) {
      if (!this.isUnconfirmed(command.deliveryId)) return;
      void this.persist({ type: 'confirmed', id: command.deliveryId }, (event) => {
        this.#apply(event);
        reports.tell(new Confirmed(event.id, this.unconfirmedCount));
      });
      return;
    }
    if (command instanceof DeliveryAttemptsExhausted) {
      reports.tell(command);
      void this.persist({ type: 'gave-up', ids: command.deliveries.map((d) => d.deliveryId) }, (event) => this.#apply(event));
      return;
    }
    if (command instanceof UnconfirmedWarning || command instanceof SaveSnapshotSuccess || command instanceof DeleteMessagesSuccess || command instanceof DeleteMessagesFailure) {
      reports.tell(command);
      return;
    }
    if (!('type' in command)) return;
    switch (command.type) {
      case 'send':
        void this.persist({ type: 'sent', text: command.text, ...(command.to !== undefined ? { to: command.to } : {}) }, (event) => this.#apply(event));
        return;
      case 'deliver':
        // Straight from the command handler (nothing persisted), so a thrown error reaches the asker.
        try {
          this.sender.tell(this.deliver(this.#options.destination, (id) => ({ id, text: command.text }) satisfies Payload));
        } catch (error) {
          this.sender.tell(new StatusFailure(error as Error));
        }
        return;
      case 'confirm-directly':
        this.sender.tell(this.confirmDelivery(command.id));
        return;
      case 'snap':
        this.saveSnapshot(this.#snapshotHolding(command.holding ?? 'delivery-state'));
        return;
      case 'read-delivery-snapshot':
        this.#lastRead = this.getDeliverySnapshot();
        this.sender.tell(this.#lastRead);
        return;
      case 'delete':
        this.deleteMessages(command.to);
        return;
      case 'state':
        this.sender.tell({
          unconfirmed: this.unconfirmedCount,
          currentDeliveryId: this.currentDeliveryId,
          lastSequenceNr: this.lastSequenceNr,
          deliveries: this.unconfirmedDeliveries(),
        } satisfies SenderState);
        return;
      case 'crash':
        // The supervisor restarts the actor in place: same ref, new instance, recovery from the journal.
        throw new Error('crash requested by the test');
    }
  }

  onRecover(message: SenderEvent | SnapshotOffer | RecoveryCompleted): void {
    if (message instanceof RecoveryCompleted) {
      this.#options.reports.tell(new Recovered(this.sendCount, this.unconfirmedCount, this.currentDeliveryId));
      return;
    }
    if (message instanceof SnapshotOffer) {
      const snapshot = message.snapshot as AtLeastOnceDeliverySnapshot | { delivery?: AtLeastOnceDeliverySnapshot };
      if ('currentDeliveryId' in snapshot) this.setDeliverySnapshot(snapshot);
      else if (snapshot.delivery !== undefined) this.setDeliverySnapshot(snapshot.delivery);
      return;
    }
    this.#apply(message);
  }

  #snapshotHolding(holding: NonNullable<Extract<SenderCommand, { type: 'snap' }>['holding']>): unknown {
    switch (holding) {
      case 'delivery-state':
        return this.getDeliverySnapshot();
      case 'delivery-field':
        return { app: 'own state', delivery: this.getDeliverySnapshot() };
      case 'other-state':
        return { app: 'own state' };
      case 'last-read':
        return this.#lastRead;
    }
  }

  #apply(event: SenderEvent): void {
    switch (event.type) {
      case 'sent':
        this.deliver(event.to ?? this.#options.destination, (id) => ({ id, text: event.text }) satisfies Payload);
        return;
      case 'confirmed':
        this.confirmDelivery(event.id);
        return;
      case 'gave-up':
        for (const id of event.ids) this.confirmDelivery(id);
        return;
    }
  }
}

export function startSender(system: ActorSystem, options: SenderOptions, name = 'sender'): ActorRef {
  return system.actorOf(() => new Sender(options), name);
}

// --- destinations -----------------------------------------------------------------------------------

/**
 * Loses the first `drop` messages it receives (no confirmation, as if they never arrived), then
 * forwards each message to `seen` and confirms it to its sender.
 */
export class LossyDestination extends Actor {
  #dropped = 0;

  constructor(
    private readonly drop: number,
    private readonly seen: ActorRef,
  ) {
    super();
  }

  receive(message: unknown): void {
    if (!isPayload(message)) return;
    if (this.#dropped < this.drop) {
      this.#dropped++;
      return;
    }
    this.seen.tell(message);
    this.sender.tell(new DeliveryConfirmed(message.id));
  }
}

/** Forwards every payload to `seen` and confirms it. */
export class ConfirmingDestination extends LossyDestination {
  constructor(seen: ActorRef) {
    super(0, seen);
  }
}

/**
 * Reads a probe that gets both the Tick markers and the sends: `next()` returns the delivery ids the
 * next tick sent (a tick tells its marker before it sends, and tells from one actor arrive in order).
 */
export class TickBatches {
  #atMarker = false;

  constructor(private readonly probe: TestProbe) {}

  async next(timeoutMs = 5000): Promise<number[]> {
    if (!this.#atMarker) await this.probe.fishForMessage((message) => message instanceof Tick, timeoutMs);
    this.#atMarker = false;
    const ids: number[] = [];
    for (;;) {
      const message = await this.probe.expectMsg<unknown>(() => true, timeoutMs);
      if (message instanceof Tick) {
        this.#atMarker = true;
        return ids;
      }
      if (!isPayload(message)) throw new Error(`unexpected message between ticks: ${JSON.stringify(message)}`);
      ids.push(message.id);
    }
  }

  /** Skips ticks that sent nothing (e.g. queued before the clock moved); returns the first that sent something. */
  async nextNonEmpty(timeoutMs = 5000): Promise<number[]> {
    for (;;) {
      const ids = await this.next(timeoutMs);
      if (ids.length > 0) return ids;
    }
  }
}

// --- clock --------------------------------------------------------------------------------------------

// Moves stay far below the journal's call timeout, so the circuit breaker never sees a stale call.
export { ManualClock };

// --- transport ----------------------------------------------------------------------------------------

/**
 * An in-process DeliveryTransport. Each send is recorded and announced to `sends` (when set); the
 * behaviour decides whether it confirms at once through context.confirm, only records, or rejects.
 */
export class FakeTransport implements DeliveryTransport {
  readonly name: string;
  readonly sent: OutboundDelivery[] = [];
  /**
   * `throw`: breaks the contract (throws instead of rejecting), as a careless user transport might.
   * `hold`: the send's outcome waits in `pending` until the test settles it, as a slow destination's.
   */
  behaviour: 'confirm' | 'record' | 'reject' | 'throw' | 'hold' = 'record';
  readonly pending: { readonly resolve: () => void; readonly reject: (error: Error) => void }[] = [];
  sends: ActorRef | undefined;
  startCount = 0;
  #context: TransportContext | undefined;

  constructor(name = 'fake') {
    this.name = name;
  }

  validateDestination(destination: TransportDestination): void {
    if (typeof destination.topic !== 'string') throw new Error('a fake destination needs a topic');
  }

  async start(context: TransportContext): Promise<void> {
    this.startCount++;
    this.#context = context;
  }

  send(_destination: TransportDestination, delivery: OutboundDelivery): Promise<void> {
    this.sent.push(delivery);
    this.sends?.tell(delivery);
    if (this.behaviour === 'throw') throw new Error(`transport threw for delivery ${delivery.deliveryId}`);
    if (this.behaviour === 'reject') return Promise.reject(new Error(`broker refused delivery ${delivery.deliveryId}`));
    if (this.behaviour === 'hold') return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
    if (this.behaviour === 'confirm') this.#context!.confirm(delivery.senderId, delivery.deliveryId);
    return Promise.resolve();
  }

  /** Reports a confirmation the transport observed itself, like a 2xx answer (the transport must have started). */
  confirmFor(senderId: string, deliveryId: number): void {
    this.#context!.confirm(senderId, deliveryId);
  }

  /** Reports a confirmation that arrived as a message, as a consumer's reply does: it needs the token. */
  replyFor(senderId: string, deliveryId: number, token: string | undefined): void {
    this.#context!.confirmReceived(senderId, deliveryId, token);
  }

  async close(): Promise<void> {}
}

/** Lets every pending promise callback run (they all settle before the next macrotask). */
export function settleMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// --- observable plugins -------------------------------------------------------------------------------

function decode(payload: string | Uint8Array): unknown {
  if (typeof payload !== 'string') return undefined;
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return undefined;
  }
}

/** A TestJournal over a quiet in-memory journal. */
export function observedJournal(): TestJournal {
  return new TestJournal(new InMemoryJournalClass({ logger: silentLogger }));
}

/** Where the replays of `persistenceId` since call number `since` started. */
export function replayedFrom(journal: TestJournal, persistenceId: string, since = 0): number[] {
  return journal.replays
    .slice(since)
    .filter((call) => call.persistenceId === persistenceId)
    .map((call) => call.fromSequenceNr);
}

/** The in-memory snapshot store; `saved()` resolves with the sequence number of the next saved snapshot. */
export class ObservedSnapshotStore extends InMemorySnapshotStoreClass {
  #saveWaiters: ((sequenceNr: number) => void)[] = [];
  #deleteWaiters: (() => void)[] = [];
  /** The sequence number of every snapshot saved, in order. */
  readonly savedSequenceNrs: number[] = [];

  saved(): Promise<number> {
    return new Promise((resolve) => this.#saveWaiters.push(resolve));
  }

  deletedMatching(): Promise<void> {
    return new Promise((resolve) => this.#deleteWaiters.push(resolve));
  }

  /** Replaces the newest snapshot of `persistenceId` with `edit(its decoded state)`, e.g. to play an older format. */
  async rewriteLatest(persistenceId: string, edit: (snapshot: Record<string, unknown>) => unknown): Promise<void> {
    const latest = await this.load(persistenceId, SnapshotSelectionCriteria.latest);
    if (latest === undefined) throw new Error(`no snapshot of ${persistenceId} to rewrite`);
    const state = decode(latest.snapshot.payload) as Record<string, unknown>;
    await super.save(latest.metadata, { ...latest.snapshot, payload: JSON.stringify(edit(state)) });
  }

  override async save(...args: Parameters<InMemorySnapshotStore['save']>): Promise<void> {
    await super.save(...args);
    this.savedSequenceNrs.push(args[0].sequenceNr);
    const waiters = this.#saveWaiters;
    this.#saveWaiters = [];
    for (const resolve of waiters) resolve(args[0].sequenceNr);
  }

  override async deleteMatching(...args: Parameters<InMemorySnapshotStore['deleteMatching']>): Promise<void> {
    await super.deleteMatching(...args);
    const waiters = this.#deleteWaiters;
    this.#deleteWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

export interface ObservedStores {
  readonly journal: TestJournal;
  readonly snapshotStore: ObservedSnapshotStore;
}

export function observedStores(): ObservedStores {
  return { journal: observedJournal(), snapshotStore: new ObservedSnapshotStore() };
}

/** The in-memory journal playing one that survives restarts (as SQLite and PostgreSQL do): not volatile. */
class DurableInMemoryJournal extends InMemoryJournalClass {
  override readonly volatile = false;
}

/** Like observedStores, but the journal counts as durable, so the outbox references payloads kept in it. */
export function durableObservedStores(): ObservedStores {
  return { journal: new TestJournal(new DurableInMemoryJournal({ logger: silentLogger })), snapshotStore: new ObservedSnapshotStore() };
}

/** An outbox `confirmed` event, in either form (read its ids with confirmedIdsOf). */
export function isConfirmed(event: unknown): event is Extract<OutboxEvent, { type: 'confirmed' }> {
  return (event as OutboxEvent | undefined)?.type === 'confirmed';
}
