/**
 * `EntityRouter`: the region of `Entities` (src/entities) under the name the RabbitMQ bridge has used
 * since before entities were a core concept: one persistent entity per id, created on the first message
 * for it, passivated when idle or past `maxActiveEntities`, messages kept across a passivation.
 */
import { resolveEntitiesOptions } from '../../src/entities/entity-options.js';
import { EntityRegionActor } from '../../src/entities/region-actor.js';
import type { PersistentActor } from '../../src/persistence/persistent-actor.js';

export { EntityEnvelope } from '../../src/entities/passivate.js';

export type EntityFactory = (entityId: string) => PersistentActor;

export interface EntityRouterOptions {
  readonly entityFactory: EntityFactory;
  /** Stop entities that received nothing for this long (they come back on the next message). Default: never. */
  readonly passivateAfterMs?: number;
  /** At most this many alive at once (default 100 000); the least recently used one is stopped first. */
  readonly maxActiveEntities?: number;
}

export class EntityRouter extends EntityRegionActor {
  constructor(options: EntityRouterOptions) {
    super(
      resolveEntitiesOptions({
        typeName: 'amqp-entities',
        entity: options.entityFactory,
        ...(options.passivateAfterMs !== undefined ? { passivateAfterMs: options.passivateAfterMs } : {}),
        ...(options.maxActiveEntities !== undefined ? { maxActiveEntities: options.maxActiveEntities } : {}),
      }),
    );
  }
}
