/**
 * `Entities.start(system, options)`: persistent actors addressed by id, started on demand, parked when
 * idle or past `maxActiveEntities`, recovered on their next message (DESIGN.md "Entities"). One region
 * actor per entity type owns them (`region-actor.ts`); this is its typed handle.
 */
import type { ActorRef } from '../actor/actor-ref.js';
import type { ActorSystem } from '../actor/actor-system.js';
import type { Actor, MessageOf } from '../actor/actor.js';
import { checkEntityId, resolveEntitiesOptions, type EntitiesOptions } from './entity-options.js';
import { type EntitiesStopped, EntityEnvelope, GetRegionStats, StopEntities, type EntityRegionStats } from './passivate.js';
import { EntityRegionActor } from './region-actor.js';

export class EntityRegion<Message = unknown> {
  constructor(
    private readonly system: ActorSystem,
    /** The region actor: `EntityEnvelope(entityId, message)` sent to it reaches the entity. */
    readonly ref: ActorRef<EntityEnvelope<Message>>,
    readonly typeName: string,
  ) {}

  /** Sends `message` to entity `entityId` (created, recovering, if it is not alive); `sender` gets its replies. */
  tell(entityId: string, message: Message, sender?: ActorRef): void {
    checkEntityId(entityId);
    this.ref.tell(new EntityEnvelope(entityId, message), sender);
  }

  /** Sends `message` to entity `entityId` and resolves with its first reply (the system's ask timeout by default). */
  ask<Reply = unknown>(entityId: string, message: Message, timeoutMs?: number): Promise<Reply> {
    checkEntityId(entityId);
    return this.system.ask<Reply>(this.ref, new EntityEnvelope(entityId, message), timeoutMs);
  }

  /** How many entities are alive, passivating and waiting for a place. */
  stats(): Promise<EntityRegionStats> {
    return this.system.ask<EntityRegionStats>(this.ref, GetRegionStats.instance);
  }

  /**
   * Stops, for good, the alive entities whose id `matches` and resolves with how many once each one's
   * postStop ran; what was kept or waiting for them is answered with EntityStoppedError (a hand-off).
   */
  async stopEntities(matches: (entityId: string) => boolean, timeoutMs?: number): Promise<number> {
    const reply = await this.system.ask<EntitiesStopped>(this.ref, new StopEntities(matches), timeoutMs);
    return reply.stopped;
  }

  /** Stops the region and every entity in it (each one's postStop ran when this resolves). */
  stop(): Promise<void> {
    return this.system.stop(this.ref);
  }
}

export const Entities = {
  /** Starts the region of one entity type under `/user/entities-<typeName>` (a second one of the same name is refused). */
  start<E extends Actor>(system: ActorSystem, options: EntitiesOptions<E>): EntityRegion<MessageOf<E>> {
    const resolved = resolveEntitiesOptions(options);
    const ref = system.actorOf(() => new EntityRegionActor(resolved), `entities-${resolved.typeName}`);
    return new EntityRegion<MessageOf<E>>(system, ref as unknown as ActorRef<EntityEnvelope<MessageOf<E>>>, resolved.typeName);
  },
};
