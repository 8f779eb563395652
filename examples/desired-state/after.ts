/**
 * After: each command is ingested once into a persistent entity that holds the media set's desired
 * state (duplicates are recognised by messageId and acked without effect). Every change makes the
 * entity deliver the whole desired state, versioned, with at-least-once delivery: it is pushed again
 * until the distribution confirms it, also after a crash. The distribution keeps the newest version,
 * so repeats and late arrivals cannot roll it back.
 */
import type { Logger } from 'pino';
import {
  Actor,
  ActorSystem,
  AtLeastOnceDeliveryActor,
  DeliveryConfirmed,
  DeliveryEnvelope,
  inMemoryJournal,
  inMemorySnapshotStore,
  RecoveryCompleted,
  SnapshotOffer,
  type ActorRef,
  type RecoveryMessage,
} from 'steadfast';
import { applyChange, EMPTY_STATE, type Change, type CommandMessage, type DesiredState } from './commands.js';
import type { Distribution } from './distribution.js';
import type { CommandSource } from './source.js';

export class Ingest {
  constructor(readonly message: CommandMessage) {}
}
export class GetMediaSet {}
export type IngestResult = 'ingested' | 'duplicate';

interface PushDesiredState {
  readonly mediaSetId: string;
  readonly version: number;
  readonly desired: DesiredState;
}

type MediaSetEvent = { readonly type: 'changed'; readonly messageId: string; readonly change: Change } | { readonly type: 'confirmed'; readonly deliveryId: number };

/** `Command`: what a subclass handles besides (across.ts: the messages of amqpEntities). */
export class MediaSetEntity<Command = never> extends AtLeastOnceDeliveryActor<Ingest | GetMediaSet | DeliveryConfirmed | Command, MediaSetEvent> {
  readonly persistenceId: string;
  #desired: DesiredState = EMPTY_STATE;
  #version = 0;
  // Kept whole for the example; a real entity bounds it (a window of recent ids, or a snapshot).
  readonly #seen = new Set<string>();

  constructor(
    private readonly mediaSetId: string,
    private readonly distributionPath: string,
  ) {
    super({ redeliverInterval: 100 });
    this.persistenceId = `media-set-${mediaSetId}`;
  }

  // No snapshots or deletions requested: no persistence replies to expect, only commands.
  onCommand(command: Ingest | GetMediaSet | DeliveryConfirmed | Command): void {
    if (command instanceof Ingest) {
      const sender = this.sender;
      this.ingest(command.message, (result) => sender.tell(result));
    } else if (command instanceof DeliveryConfirmed) {
      if (this.isUnconfirmed(command.deliveryId)) void this.persist({ type: 'confirmed', deliveryId: command.deliveryId }, (event) => this.#apply(event));
    } else if (command instanceof GetMediaSet) {
      this.sender.tell(this.view());
    }
  }

  /** A command seen before is a duplicate; otherwise the change is persisted, then `done` is called. */
  protected ingest(message: CommandMessage, done: (result: IngestResult) => void): void {
    if (this.#seen.has(message.messageId)) {
      done('duplicate');
      return;
    }
    void this.persist({ type: 'changed', messageId: message.messageId, change: message.change }, (event) => {
      this.#apply(event);
      done('ingested');
    });
  }

  protected view(): { desired: DesiredState; version: number; unconfirmed: number } {
    return { desired: this.#desired, version: this.#version, unconfirmed: this.unconfirmedCount };
  }

  onRecover(message: RecoveryMessage<MediaSetEvent>): void {
    if (!(message instanceof SnapshotOffer) && !(message instanceof RecoveryCompleted)) this.#apply(message);
  }

  #apply(event: MediaSetEvent): void {
    if (event.type === 'confirmed') {
      this.confirmDelivery(event.deliveryId);
      return;
    }
    this.#seen.add(event.messageId);
    this.#desired = applyChange(this.#desired, event.change);
    this.#version++;
    const push: PushDesiredState = { mediaSetId: this.mediaSetId, version: this.#version, desired: this.#desired };
    // Called from the event handler, so replay rebuilds the unconfirmed pushes after a crash.
    this.deliver(this.distributionPath, (deliveryId) => new DeliveryEnvelope(this.persistenceId, deliveryId, push));
  }
}

/** The distribution's adapter: applies a pushed state and confirms; a failed call is not confirmed, so it is pushed again. */
export class DistributionGateway extends Actor {
  constructor(private readonly distribution: Distribution) {
    super();
  }

  receive(message: unknown): void {
    if (!(message instanceof DeliveryEnvelope)) return;
    const push = message.payload as PushDesiredState;
    try {
      this.distribution.applyDesired(push.mediaSetId, push.version, push.desired);
      this.sender.tell(new DeliveryConfirmed(message.deliveryId));
    } catch {
      // No confirmation: the entity's redelivery sends it again.
    }
  }
}

export interface AfterReport {
  readonly duplicatesIgnored: string[];
  readonly restarts: number;
}

export async function runAfter(
  source: CommandSource,
  messages: readonly CommandMessage[],
  distribution: Distribution,
  expected: ReadonlyMap<string, DesiredState>,
  logger: Logger,
  options: { restartAfter?: number } = {},
): Promise<AfterReport> {
  // The journal outlives the actor systems (as a database would outlive the process).
  const journal = inMemoryJournal({ logger: logger.child({}, { level: 'error' }) });
  const snapshotStore = inMemorySnapshotStore();
  const known = new Set<string>();
  const start = (): ActorSystem => {
    const system = ActorSystem.create('after', { journal, snapshotStore, logger });
    system.actorOf(() => new DistributionGateway(distribution), 'distribution');
    // Entities with unconfirmed pushes must run to push them: start every known one (Akka's remember-entities).
    for (const id of known) entity(system, id);
    return system;
  };
  const entity = (system: ActorSystem, id: string): ActorRef =>
    system.lookup(`/user/media-set-${id}`) ?? system.actorOf(() => new MediaSetEntity(id, '/user/distribution'), `media-set-${id}`);

  const duplicatesIgnored: string[] = [];
  let system = start();
  const ingest = async (message: CommandMessage): Promise<void> => {
    known.add(message.mediaSetId);
    const result = await entity(system, message.mediaSetId).ask<IngestResult>(new Ingest(message));
    if (result === 'duplicate') duplicatesIgnored.push(message.messageId);
  };
  let restarts = 0;
  if (options.restartAfter !== undefined) {
    await source.consume(messages.slice(0, options.restartAfter), ingest);
    // The worker goes down with pushes unconfirmed; what was ingested is in the journal.
    await system.terminate();
    system = start();
    restarts++;
    await source.consume(messages.slice(options.restartAfter), ingest);
  } else {
    await source.consume(messages, ingest);
  }

  const deadline = Date.now() + 15_000;
  for (;;) {
    const views = await Promise.all([...expected.keys()].map((id) => entity(system, id).ask<{ unconfirmed: number }>(new GetMediaSet())));
    const converged = [...expected].every(([id, state]) => JSON.stringify(distribution.view(id)) === JSON.stringify(state));
    if (converged && views.every((view) => view.unconfirmed === 0)) break;
    if (Date.now() > deadline) throw new Error('the distribution did not converge to the desired state within 15 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await system.terminate();
  return { duplicatesIgnored, restarts };
}
