/**
 * `EntityRouter`: a parent actor that owns one persistent entity per id, created on the first message
 * for it and forwarded every later one (the sender is kept, so the entity replies straight to the
 * asker). A stopped entity (journal failure, passivation) is forgotten and created again, recovering
 * from its journal, when the next message for it arrives.
 */
import { Actor } from '../../src/actor/actor.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { StatusFailure, Terminated } from '../../src/actor/messages.js';
import type { PersistentActor } from '../../src/persistence/persistent-actor.js';
import { asError } from '../../src/actor/errors.js';

/** Routes `message` to the entity `entityId` (created on demand). */
export class EntityEnvelope {
  constructor(
    readonly entityId: string,
    readonly message: unknown,
  ) {}
}

export type EntityFactory = (entityId: string) => PersistentActor;

export interface EntityRouterOptions {
  readonly entityFactory: EntityFactory;
  /** Stop entities that received nothing for this long (they come back on the next message). Default: never. */
  readonly passivateAfterMs?: number;
}

class PassivationTick {
  static readonly instance = new PassivationTick();
}

interface Entry {
  readonly ref: ActorRef;
  lastUsed: number;
}

// Actor names allow a narrower alphabet than entity ids; anything else gets a generated name.
const SAFE_NAME = /^[A-Za-z0-9_\-.~:@+=,!'*]{1,200}$/;

export class EntityRouter extends Actor {
  readonly #entities = new Map<string, Entry>();
  #generated = 0;

  constructor(private readonly options: EntityRouterOptions) {
    super();
  }

  /** Live entities. */
  get entityCount(): number {
    return this.#entities.size;
  }

  override preStart(): void {
    const idle = this.options.passivateAfterMs;
    if (idle !== undefined) this.context.timers.startPeriodicTimer(PassivationTick, PassivationTick.instance, Math.max(10, Math.floor(idle / 2)));
  }

  receive(message: unknown): void {
    if (message instanceof EntityEnvelope) return this.#route(message);
    if (message instanceof Terminated) {
      for (const [entityId, entry] of this.#entities) {
        if (entry.ref === message.actor) this.#entities.delete(entityId);
      }
      return;
    }
    if (message === PassivationTick.instance) this.#passivateIdle();
  }

  #route(envelope: EntityEnvelope): void {
    const entry = this.#entities.get(envelope.entityId);
    if (entry && !entry.ref.isTerminated) {
      entry.lastUsed = performance.now();
      entry.ref.tell(envelope.message, this.sender);
      return;
    }
    let ref: ActorRef;
    try {
      const { entityId } = envelope;
      const factory = this.options.entityFactory;
      const name = SAFE_NAME.test(entityId) && !this.context.child(entityId) ? entityId : `entity-${++this.#generated}`;
      ref = this.context.actorOf(() => factory(entityId), name);
    } catch (error) {
      // e.g. the previous incarnation still holds the persistenceId while it stops: the asker retries.
      this.sender.tell(new StatusFailure(asError(error)));
      return;
    }
    this.context.watch(ref);
    this.#entities.set(envelope.entityId, { ref, lastUsed: performance.now() });
    ref.tell(envelope.message, this.sender);
  }

  #passivateIdle(): void {
    const limit = performance.now() - this.options.passivateAfterMs!;
    for (const [entityId, entry] of this.#entities) {
      if (entry.lastUsed >= limit) continue;
      this.#entities.delete(entityId);
      void this.context.stop(entry.ref);
    }
  }
}
