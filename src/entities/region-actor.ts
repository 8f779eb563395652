/**
 * The region: a parent actor owning one child per entity id, created on the first message for it and
 * forwarded every later one with its sender (the entity replies straight to the asker). It keeps three
 * promises of DESIGN.md "Entities":
 * - never more than `maxActiveEntities` alive at once (between preStart and postStop): an id past the
 *   cap waits, with its messages, while the least recently used entity is stopped for it;
 * - a passivating entity loses nothing: messages that arrive meanwhile are kept and handed, in order, to
 *   its next incarnation once the old one terminated (a stop message queues behind what the mailbox holds);
 * - idle entities are stopped after `passivateAfterMs` and come back, recovering, on their next message.
 * Ids wait for a place in arrival order, so one hot id cannot starve a cold one. Recoveries of entities
 * started together are limited by the persistence layer (`maxConcurrentRecoveries`).
 */
import { Actor } from '../actor/actor.js';
import type { ActorRef } from '../actor/actor-ref.js';
import { asError } from '../actor/errors.js';
import { StatusFailure, Terminated } from '../actor/messages.js';
import { EntityStoppedError } from './errors.js';
import type { ResolvedEntitiesOptions } from './entity-options.js';
import { EntitiesStopped, EntityEnvelope, GetRegionStats, Passivate, StopEntities, type EntityRegionStats } from './passivate.js';
import { RecencyList, type RecencyNode } from './recency-list.js';

interface Kept {
  readonly message: unknown;
  readonly sender: ActorRef;
}

interface Entity extends RecencyNode {
  readonly id: string;
  readonly ref: ActorRef;
  lastUsed: number;
  /** Set while it is being stopped: what arrives for it meanwhile, for its next incarnation. */
  kept: Kept[] | undefined;
  /** Stopped for good (StopEntities): what was kept is answered with EntityStoppedError, not handed on. */
  final?: boolean;
}

/** A StopEntities waiting for the entities it stops to terminate. */
interface PendingStop {
  readonly ids: Set<string>;
  readonly replyTo: ActorRef;
  readonly stopped: number;
}

class IdleCheck {
  static readonly instance = new IdleCheck();
}

// Actor names allow a narrower alphabet than entity ids; anything else gets a generated name.
const SAFE_NAME = /^[A-Za-z0-9_\-.~:@+=,!'*]{1,200}$/;

export class EntityRegionActor extends Actor {
  /** Alive entities (passivating ones too), by id. */
  readonly #alive = new Map<string, Entity>();
  /** The same entities, least recently used first. */
  readonly #recency = new RecencyList<Entity>();
  readonly #byRef = new Map<ActorRef, Entity>();
  /** Ids waiting for a place, in arrival order, with their messages. */
  readonly #waiting = new Map<string, Kept[]>();
  #passivating = 0;
  #generated = 0;
  readonly #pendingStops: PendingStop[] = [];

  constructor(private readonly options: ResolvedEntitiesOptions) {
    super();
  }

  override preStart(): void {
    const idle = this.options.passivateAfterMs;
    if (idle !== undefined) this.context.timers.startPeriodicTimer(IdleCheck, IdleCheck.instance, Math.max(10, Math.floor(idle / 2)));
  }

  receive(message: unknown): void {
    if (message instanceof EntityEnvelope) return this.#route(message.entityId, message.message, this.sender);
    if (message instanceof Terminated) return this.#terminated(message.actor);
    if (message instanceof Passivate) {
      const entity = this.#byRef.get(this.sender);
      if (entity !== undefined && entity.kept === undefined) this.#passivate(entity, message.stopMessage);
      return;
    }
    if (message === IdleCheck.instance) return this.#passivateIdle();
    if (message instanceof StopEntities) return this.#stopForGood(message.matches, this.sender);
    if (message === GetRegionStats.instance) {
      this.sender.tell({ alive: this.#alive.size, passivating: this.#passivating, waiting: this.#waiting.size } satisfies EntityRegionStats);
    }
  }

  #route(id: string, message: unknown, sender: ActorRef): void {
    const entity = this.#alive.get(id);
    if (entity !== undefined) {
      if (entity.kept !== undefined) {
        entity.kept.push({ message, sender });
        return;
      }
      this.#recency.touch(entity);
      entity.lastUsed = performance.now();
      entity.ref.tell(message, sender);
      return;
    }
    const waiting = this.#waiting.get(id);
    if (waiting !== undefined) {
      waiting.push({ message, sender });
      return;
    }
    this.#waiting.set(id, [{ message, sender }]);
    this.#admit();
  }

  /** Starts waiting ids while there is room, and stops least recently used entities for the rest. */
  #admit(): void {
    for (const [id, kept] of this.#waiting) {
      if (this.#alive.size >= this.options.maxActiveEntities) break;
      this.#waiting.delete(id);
      this.#start(id, kept);
    }
    let short = this.#waiting.size - this.#passivating;
    if (short <= 0) return;
    for (const entity of this.#recency.fromOldest()) {
      if (short <= 0) break;
      if (entity.kept !== undefined) continue;
      this.#passivate(entity, this.options.stopMessage);
      short--;
    }
  }

  #start(id: string, kept: readonly Kept[]): void {
    let ref: ActorRef;
    try {
      const name = SAFE_NAME.test(id) && !this.context.child(id) ? id : `entity-${++this.#generated}`;
      const factory = this.options.entity;
      ref = this.context.actorOf(() => factory(id), name);
    } catch (error) {
      const failure = new StatusFailure(asError(error));
      this.log.warn({ entityId: id, err: failure.cause }, 'entity could not be started; its messages are answered with the failure');
      for (const { sender } of kept) sender.tell(failure);
      return;
    }
    this.context.watch(ref);
    const entity: Entity = { id, ref, lastUsed: performance.now(), kept: undefined, older: undefined, newer: undefined };
    this.#alive.set(id, entity);
    this.#recency.push(entity);
    this.#byRef.set(ref, entity);
    for (const { message, sender } of kept) ref.tell(message, sender);
  }

  #passivate(entity: Entity, stopMessage: unknown): void {
    entity.kept = [];
    this.#passivating++;
    entity.ref.tell(stopMessage, this.self);
  }

  #terminated(ref: ActorRef): void {
    const entity = this.#byRef.get(ref);
    if (entity === undefined) return;
    this.#byRef.delete(ref);
    this.#alive.delete(entity.id);
    this.#recency.remove(entity);
    if (entity.kept !== undefined) {
      this.#passivating--;
      if (entity.final === true) failKept(entity.id, entity.kept);
      // Its next incarnation gets what came meanwhile; it queues for a place like any other id.
      else if (entity.kept.length > 0) this.#waiting.set(entity.id, entity.kept);
    }
    this.#settleStops(entity.id);
    this.#admit();
  }

  #stopForGood(matches: (entityId: string) => boolean, replyTo: ActorRef): void {
    for (const [id, kept] of this.#waiting) {
      if (!matches(id)) continue;
      this.#waiting.delete(id);
      failKept(id, kept);
    }
    const ids = new Set<string>();
    for (const entity of this.#alive.values()) {
      if (!matches(entity.id)) continue;
      ids.add(entity.id);
      entity.final = true;
      if (entity.kept === undefined) this.#passivate(entity, this.options.stopMessage);
    }
    if (ids.size === 0) {
      replyTo.tell(new EntitiesStopped(0));
      return;
    }
    this.#pendingStops.push({ ids, replyTo, stopped: ids.size });
  }

  #settleStops(id: string): void {
    for (let i = this.#pendingStops.length - 1; i >= 0; i--) {
      const pending = this.#pendingStops[i]!;
      if (!pending.ids.delete(id) || pending.ids.size > 0) continue;
      this.#pendingStops.splice(i, 1);
      pending.replyTo.tell(new EntitiesStopped(pending.stopped));
    }
  }

  #passivateIdle(): void {
    const limit = performance.now() - this.options.passivateAfterMs!;
    for (const entity of this.#recency.fromOldest()) {
      if (entity.kept !== undefined) continue;
      // Least recently used first: the first recent one means all after it are recent too.
      if (entity.lastUsed >= limit) break;
      this.#passivate(entity, this.options.stopMessage);
    }
  }
}

function failKept(id: string, kept: readonly Kept[]): void {
  if (kept.length === 0) return;
  const failure = new StatusFailure(new EntityStoppedError(id));
  for (const { sender } of kept) sender.tell(failure);
}
