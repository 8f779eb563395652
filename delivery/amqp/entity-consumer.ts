/**
 * `amqpEntityConsumer`: consumes a queue and hands each message to the persistent entity whose id the
 * message names, through an EntityRouter (an `Entities` region, src/entities) in the given actor system.
 *
 * For each message: the entity receives an InboundDelivery, persists the dedup record and the effect
 * in one event and replies DeliveryApplied; only then is the AMQP message acked and the confirmation
 * sent to the sender. Messages of one entity are handled strictly in order (the consumer's entity
 * lanes are keyed by the entity id), different entities concurrently up to `prefetch`.
 */
import { InvalidOptionError } from '../../src/actor/errors.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { ActorSystem } from '../../src/actor/actor-system.js';
import { AmqpConsumer, type ConsumerStats } from './consumer.js';
import type { AmqpConsumerOptions } from './consumer-options.js';
import { NotASteadfastDeliveryError, UnexpectedEntityReplyError } from './errors.js';
import type { InboundMessage, SteadfastInboundMessage } from './inbound.js';
import { DeliveryApplied, InboundDelivery } from './inbound-delivery.js';
import { EntityEnvelope, EntityRouter, type EntityFactory } from './entity-router.js';
import { optionalFunction, optionalInteger, optionalString, requireObject } from './options.js';

export interface AmqpEntityConsumerOptions extends Omit<AmqpConsumerOptions, 'handler' | 'entityKey' | 'requireSteadfastHeaders'> {
  /** The actor system the entities live in (with its journal). */
  readonly system: ActorSystem;
  /** Which entity a message is for, e.g. `(m) => String((m.body as { accountId: string }).accountId)`. Pure; a throw parks the message. */
  readonly entityId: (message: SteadfastInboundMessage) => string;
  /** Creates the entity for an id; typically a DeduplicatingEntity subclass. Called again after a stop. */
  readonly entityFactory: EntityFactory;
  /** Name of the router actor under /user. Default `amqp-entities-<n>`. */
  readonly routerName?: string;
  /** How long to wait for the entity's DeliveryApplied before the attempt counts as failed (and is retried). Default 30 000. */
  readonly replyTimeoutMs?: number;
  /** Stop entities idle for this long; they recover from the journal on their next message. Default: never. */
  readonly passivateAfterMs?: number;
  /** At most this many entities alive at once; the least recently used one is stopped first. Default 100 000. */
  readonly maxActiveEntities?: number;
}

let routers = 0;

export class AmqpEntityConsumer {
  /** The router actor owning the entities: send it `EntityEnvelope(entityId, message)` to reach one. */
  readonly router: ActorRef;
  readonly consumer: AmqpConsumer;
  readonly #system: ActorSystem;

  constructor(options: AmqpEntityConsumerOptions) {
    const raw = requireObject(options, 'amqpEntityConsumer options');
    if (!(raw.system instanceof ActorSystem)) throw new InvalidOptionError('options.system must be an ActorSystem');
    const system = raw.system;
    const entityId = optionalFunction<(message: SteadfastInboundMessage) => string>(raw.entityId, 'options.entityId');
    const entityFactory = optionalFunction<EntityFactory>(raw.entityFactory, 'options.entityFactory');
    if (!entityId) throw new InvalidOptionError('options.entityId is required: (message) => the id of the entity it is for');
    if (!entityFactory) throw new InvalidOptionError('options.entityFactory is required: (entityId) => a persistent actor');
    const replyTimeoutMs = optionalInteger(raw.replyTimeoutMs, 'options.replyTimeoutMs', 30_000, { min: 1 });
    const passivateAfterMs = raw.passivateAfterMs === undefined ? undefined : optionalInteger(raw.passivateAfterMs, 'options.passivateAfterMs', 0, { min: 1 });
    const maxActiveEntities = optionalInteger(raw.maxActiveEntities, 'options.maxActiveEntities', 100_000, { min: 1 });
    const routerName = optionalString(raw.routerName, 'options.routerName', `amqp-entities-${++routers}`);
    const {
      system: _system,
      entityId: _entityId,
      entityFactory: _factory,
      routerName: _name,
      replyTimeoutMs: _timeout,
      passivateAfterMs: _passivate,
      maxActiveEntities: _maxActive,
      ...consumerOptions
    } = options;

    const idOf = (message: SteadfastInboundMessage): string => {
      const id = entityId(message);
      if (typeof id !== 'string' || id.length === 0)
        throw new InvalidOptionError(`options.entityId returned ${JSON.stringify(id)} for ${message.messageId}; it must return a non-empty string`);
      return id;
    };
    this.#system = system;
    this.router = system.actorOf(() => new EntityRouter({ entityFactory, maxActiveEntities, ...(passivateAfterMs !== undefined ? { passivateAfterMs } : {}) }), routerName);
    const router = this.router;
    this.consumer = new AmqpConsumer({
      ...consumerOptions,
      // Without sender and delivery id there is nothing to deduplicate on: such messages are parked.
      requireSteadfastHeaders: true,
      entityKey: (message: InboundMessage) => (message.kind === 'steadfast' ? idOf(message) : (message.messageId ?? '')),
      handler: async (message: InboundMessage) => {
        if (message.kind !== 'steadfast') throw new NotASteadfastDeliveryError(message.messageId);
        const id = idOf(message);
        const reply = await router.ask<unknown>(new EntityEnvelope(id, InboundDelivery.from(message, id)), replyTimeoutMs);
        if (!(reply instanceof DeliveryApplied) || reply.messageId !== message.messageId) {
          throw new UnexpectedEntityReplyError(id, reply instanceof DeliveryApplied ? `DeliveryApplied for ${reply.messageId}` : describeReply(reply));
        }
      },
    });
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  get stats(): ConsumerStats {
    return this.consumer.stats;
  }

  /** Stops consuming, waits for entities to answer what is in flight, then stops the router and its entities. */
  async close(): Promise<void> {
    await this.consumer.close();
    await this.#system.stop(this.router);
  }
}

/** What an entity answered, for an error message. */
export function describeReply(reply: unknown): string {
  if (reply === null || reply === undefined) return String(reply);
  if (typeof reply === 'object') return (reply as object).constructor?.name ?? 'an object';
  return typeof reply;
}

/** A consumer that hands each message to a persistent entity chosen by `entityId`; call `start()`. */
export function amqpEntityConsumer(options: AmqpEntityConsumerOptions): AmqpEntityConsumer {
  return new AmqpEntityConsumer(options);
}
