/** The options of `Entities.start`, validated once. */
import { InvalidOptionError } from '../actor/errors.js';
import { PoisonPill } from '../actor/messages.js';
import type { Actor } from '../actor/actor.js';

export interface EntitiesOptions<E extends Actor = Actor> {
  /** The entity type, unique per actor system: it names the region actor (`/user/entities-<typeName>`). */
  readonly typeName: string;
  /** Makes the actor of one id (usually a PersistentActor whose persistenceId includes the id). */
  readonly entity: (entityId: string) => E;
  /** Stop an entity that received nothing for this long; the next message recovers it. Default: never. */
  readonly passivateAfterMs?: number;
  /** At most this many entities alive at once; past it the least recently used one is stopped first. Default 100 000. */
  readonly maxActiveEntities?: number;
  /** What the region sends an entity it stops (idle, or displaced past the cap). Default: PoisonPill. */
  readonly stopMessage?: unknown;
}

export interface ResolvedEntitiesOptions {
  readonly typeName: string;
  readonly entity: (entityId: string) => Actor;
  readonly passivateAfterMs: number | undefined;
  readonly maxActiveEntities: number;
  readonly stopMessage: unknown;
}

const TYPE_NAME = /^[A-Za-z0-9_\-.]{1,100}$/;

export function resolveEntitiesOptions(options: EntitiesOptions): ResolvedEntitiesOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('Entities.start takes options { typeName, entity }');
  const { typeName, entity, passivateAfterMs, maxActiveEntities = 100_000, stopMessage = PoisonPill.instance } = options;
  if (typeof typeName !== 'string' || !TYPE_NAME.test(typeName)) {
    throw new InvalidOptionError(`Entities option typeName must be 1-100 characters of letters, digits, "_", "-" or "."; got ${JSON.stringify(typeName)}`);
  }
  if (typeof entity !== 'function') throw new InvalidOptionError('Entities option entity must be a function (entityId) => actor');
  if (passivateAfterMs !== undefined && (!Number.isSafeInteger(passivateAfterMs) || passivateAfterMs < 1)) {
    throw new InvalidOptionError(`Entities option passivateAfterMs must be a positive integer (ms), got ${String(passivateAfterMs)}`);
  }
  if (!Number.isSafeInteger(maxActiveEntities) || maxActiveEntities < 1) {
    throw new InvalidOptionError(`Entities option maxActiveEntities must be a positive integer, got ${String(maxActiveEntities)}`);
  }
  return { typeName, entity, passivateAfterMs, maxActiveEntities, stopMessage };
}

export function checkEntityId(entityId: unknown): asserts entityId is string {
  if (typeof entityId !== 'string' || entityId.length === 0) throw new InvalidOptionError(`an entity id is a non-empty string, got ${JSON.stringify(entityId)}`);
}
