/** The options of `amqpEntities`, validated once where they enter. */
import type { Logger } from 'pino';
import { InvalidOptionError } from '../../src/actor/errors.js';
import { ActorSystem } from '../../src/actor/actor-system.js';
import type { PersistentActor } from '../../src/persistence/persistent-actor.js';
import { optionalFunction, optionalInteger, optionalLogger, requireObject, requireString } from './options.js';

export interface AmqpEntitiesOptions {
  /** The actor system the entities live in; its journal is shared by every process (PostgreSQL) and gives the leases. */
  readonly system: ActorSystem;
  readonly url: string;
  /** The entity type: every process starting it with the same name shares its entities. Letters, digits, `_-.`. */
  readonly typeName: string;
  /**
   * Makes the entity of an id: a persistent actor that answers `InboundDelivery` with `DeliveryApplied`
   * once the effect is persisted, and `GetEntityState` with its state (a `DeduplicatingEntity` does
   * both). Without it this process only sends.
   */
  readonly entity?: (entityId: string) => PersistentActor;
  /** How many partition queues the entity space is cut into. Fixed per type (recorded in the broker). Default 32. */
  readonly partitions?: number;
  /** Stop entities idle this long; they recover on their next message. Default: never. */
  readonly passivateAfterMs?: number;
  /** At most this many entities alive in this process. Default 100 000. */
  readonly maxActiveEntities?: number;
  /** Unacked messages per partition consumer (and so entities handled at once per partition). Default 32. */
  readonly prefetch?: number;
  /** How often membership is counted and shares adjusted, ms. Bounds failover time. Default 500. */
  readonly rebalanceIntervalMs?: number;
  /** Member slots: at most this many serving processes. Default 16. */
  readonly maxMembers?: number;
  /** How long a tell or ask keeps trying to have its publish confirmed. Default 30 000. */
  readonly sendTimeoutMs?: number;
  /** Default ask timeout, ms. Default 30 000. */
  readonly askTimeoutMs?: number;
  /** How long the entity may take to answer an InboundDelivery before the attempt counts as failed. Default 30 000. */
  readonly replyTimeoutMs?: number;
  /** How long start() waits for the broker. Default 10 000. */
  readonly startTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface ResolvedAmqpEntitiesOptions {
  readonly system: ActorSystem;
  readonly url: string;
  readonly typeName: string;
  readonly entity: ((entityId: string) => PersistentActor) | undefined;
  readonly partitions: number;
  readonly passivateAfterMs: number | undefined;
  readonly maxActiveEntities: number;
  readonly prefetch: number;
  readonly rebalanceIntervalMs: number;
  readonly maxMembers: number;
  readonly sendTimeoutMs: number;
  readonly askTimeoutMs: number;
  readonly replyTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly logger: Logger | undefined;
}

const TYPE_NAME = /^[A-Za-z0-9_\-.]{1,100}$/;

export function resolveAmqpEntitiesOptions(options: AmqpEntitiesOptions): ResolvedAmqpEntitiesOptions {
  const raw = requireObject(options, 'amqpEntities options');
  if (!(raw.system instanceof ActorSystem)) throw new InvalidOptionError('amqpEntities option system must be an ActorSystem');
  const typeName = requireString(raw.typeName, 'options.typeName');
  if (!TYPE_NAME.test(typeName)) {
    throw new InvalidOptionError(`amqpEntities option typeName must be 1-100 letters, digits, "_", "-" or "."; got ${JSON.stringify(typeName)}`);
  }
  return {
    system: raw.system,
    url: requireString(raw.url, 'options.url'),
    typeName,
    entity: optionalFunction<(entityId: string) => PersistentActor>(raw.entity, 'options.entity'),
    partitions: optionalInteger(raw.partitions, 'options.partitions', 32, { min: 1, max: 1024 }),
    passivateAfterMs: raw.passivateAfterMs === undefined ? undefined : optionalInteger(raw.passivateAfterMs, 'options.passivateAfterMs', 0, { min: 1 }),
    maxActiveEntities: optionalInteger(raw.maxActiveEntities, 'options.maxActiveEntities', 100_000, { min: 1 }),
    prefetch: optionalInteger(raw.prefetch, 'options.prefetch', 32, { min: 1, max: 65_535 }),
    rebalanceIntervalMs: optionalInteger(raw.rebalanceIntervalMs, 'options.rebalanceIntervalMs', 500, { min: 10 }),
    maxMembers: optionalInteger(raw.maxMembers, 'options.maxMembers', 16, { min: 1, max: 1024 }),
    sendTimeoutMs: optionalInteger(raw.sendTimeoutMs, 'options.sendTimeoutMs', 30_000, { min: 1 }),
    askTimeoutMs: optionalInteger(raw.askTimeoutMs, 'options.askTimeoutMs', 30_000, { min: 1 }),
    replyTimeoutMs: optionalInteger(raw.replyTimeoutMs, 'options.replyTimeoutMs', 30_000, { min: 1 }),
    startTimeoutMs: optionalInteger(raw.startTimeoutMs, 'options.startTimeoutMs', 10_000, { min: 1 }),
    logger: optionalLogger(raw.logger, 'options.logger'),
  };
}
