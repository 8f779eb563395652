/**
 * `amqpEntities`: an entity region spread over every process that starts it with the same `typeName`
 * (DESIGN.md "Entities"; the design and its why in delivery/amqp/README.md, "Entities across processes").
 *
 * Sending: `tell` publishes to the entity's partition queue (a stable hash of the id) and resolves on
 * the broker's confirm; `ask` does the same with a reply queue and a correlation id. Serving: the
 * partitions whose journal lease this process holds (`partition-ownership.ts`) are consumed, each by an
 * AmqpConsumer that hands the message to the local region as an InboundDelivery and acks only after the
 * entity's DeliveryApplied (the effect and the dedup record are persisted together).
 */
import { randomUUID } from 'node:crypto';
import type { Options } from 'amqplib';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { InvalidOptionError } from '../../src/actor/errors.js';
import { EntitiesStopped, EntityEnvelope, StopEntities } from '../../src/entities/passivate.js';
import { Persistence } from '../../src/persistence/persistence.js';
import type { JsonValue } from '../transport.js';
import { AmqpConnectionManager } from './connection-manager.js';
import { AmqpConsumer } from './consumer.js';
import { GetEntityState } from './deduplicating-entity.js';
import { EntityAsks } from './entity-asks.js';
import { describeReply } from './entity-consumer.js';
import { partitionCountQueue, partitionOf, partitionQueue } from './entity-partitions.js';
import { EntityRouter } from './entity-router.js';
import { resolveAmqpEntitiesOptions, type AmqpEntitiesOptions, type ResolvedAmqpEntitiesOptions } from './entities-options.js';
import { AmqpClosedError, AmqpPartitionCountError, AmqpUnroutableError, LeasesUnsupportedError, UnexpectedEntityReplyError, describe } from './errors.js';
import type { InboundMessage } from './inbound.js';
import { DeliveryApplied, InboundDelivery } from './inbound-delivery.js';
import { PartitionOwnership, type OwnershipState } from './partition-ownership.js';
import { ConfirmPublisher } from './publisher.js';
import { CONTENT_TYPE_JSON, DEFAULT_MANIFEST, HEADER_ATTEMPT, HEADER_DELIVERY_ID, HEADER_SENDER, messageIdOf } from './wire.js';

/** The entity a message is for (the consumer does not parse the body to route it). */
export const HEADER_ENTITY = 'x-steadfast-entity';
/** Where an ask's answer goes (not `replyTo`: the consumer sends confirmations there), and its correlation id. */
export const HEADER_ASK_REPLY_TO = 'x-steadfast-ask-reply-to';
export const HEADER_ASK_ID = 'x-steadfast-ask-id';

/** A message that stays in the queue through this many crashed consumers is a crash, not poison: handing off and SIGKILLs both count. */
const MAX_DELIVERIES = 10_000;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;

export interface AmqpEntitiesStats {
  /** Messages applied (acked) by this process. */
  readonly handled: number;
  readonly ownership: OwnershipState | undefined;
}

export class AmqpEntities {
  readonly typeName: string;
  /** The sender id of this region's tells: fresh per start, so no two processes (or restarts) share one. */
  readonly senderId: string;
  readonly #options: ResolvedAmqpEntitiesOptions;
  readonly #logger: Logger;
  readonly #manager: AmqpConnectionManager;
  readonly #publisher: ConfirmPublisher;
  readonly #asks: EntityAsks;
  /** Per entity, the last delivery id this sender used: ids of one sender to one entity are 1, 2, 3, ... */
  readonly #counters = new Map<string, number>();
  readonly #consumers = new Map<number, AmqpConsumer>();
  readonly #ownershipListeners = new Set<(state: OwnershipState) => void>();
  #router: ActorRef | undefined;
  #ownership: PartitionOwnership | undefined;
  #handledBefore = 0;
  #phase: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(options: AmqpEntitiesOptions) {
    this.#options = resolveAmqpEntitiesOptions(options);
    const o = this.#options;
    this.typeName = o.typeName;
    this.senderId = `${o.typeName}@${randomUUID()}`;
    this.#logger = (o.logger ?? pino({ name: 'steadfast.amqp' })).child({ entities: o.typeName });
    if (o.entity !== undefined && Persistence.get(o.system).journal.acquireLease === undefined) throw new LeasesUnsupportedError(o.typeName);
    this.#manager = new AmqpConnectionManager({ url: o.url, connectionName: `${o.typeName} entities`, logger: this.#logger });
    this.#publisher = new ConfirmPublisher(this.#manager, { name: `entities ${o.typeName}`, maxInFlight: 1000, publishTimeoutMs: 5000 });
    this.#asks = new EntityAsks(this.#manager, o.typeName);
  }

  /** True when this process serves entities (it was given `entity`), false when it only sends. */
  get serving(): boolean {
    return this.#options.entity !== undefined;
  }

  get stats(): AmqpEntitiesStats {
    let handled = this.#handledBefore;
    for (const consumer of this.#consumers.values()) handled += consumer.stats.handled;
    return { handled, ownership: this.#ownership?.state };
  }

  /** Called when this process's partitions or member count changed (also before start()); returns the unsubscribe function. */
  onOwnershipChange(listener: (state: OwnershipState) => void): () => void {
    this.#ownershipListeners.add(listener);
    return () => this.#ownershipListeners.delete(listener);
  }

  /**
   * Connects, checks the partition count against the broker's record, declares the partition queues,
   * and (serving) takes this process's first share of partitions. Rejects with AmqpPartitionCountError
   * on a count mismatch.
   */
  async start(): Promise<void> {
    if (this.#phase !== 'new') throw new InvalidOptionError(`amqpEntities "${this.typeName}" can be started once`);
    this.#phase = 'running';
    try {
      await this.#start();
    } catch (error) {
      // Nothing half-started stays behind (a reconnecting connection, a region, leases).
      await this.stop().catch(() => {});
      throw error;
    }
  }

  async #start(): Promise<void> {
    const o = this.#options;
    void this.#manager.start().catch(() => {});
    await this.#manager.waitForConnection(o.startTimeoutMs);
    await this.#checkPartitionCount();
    const queues = [];
    for (let p = 0; p < o.partitions; p++) {
      // Single-active-consumer: during a hand-off the new owner's consumer waits until the old one is gone.
      queues.push({ name: partitionQueue(o.typeName, p), type: 'quorum' as const, arguments: { 'x-single-active-consumer': true } });
      queues.push({ name: `${partitionQueue(o.typeName, p)}.dead-letter`, type: 'classic' as const });
    }
    await this.#manager.addTopology({ queues });
    await Promise.all([this.#publisher.managed.whenOpen(o.startTimeoutMs), this.#asks.whenReady(o.startTimeoutMs)]);
    if (o.entity === undefined) return;
    const entity = o.entity;
    this.#router = o.system.actorOf(
      () =>
        new EntityRouter({
          entityFactory: entity,
          maxActiveEntities: o.maxActiveEntities,
          ...(o.passivateAfterMs !== undefined ? { passivateAfterMs: o.passivateAfterMs } : {}),
        }),
      `amqp-entities-${o.typeName}`,
    );
    const journal = Persistence.get(o.system).journal;
    this.#ownership = new PartitionOwnership(
      {
        typeName: o.typeName,
        partitions: o.partitions,
        maxMembers: o.maxMembers,
        intervalMs: o.rebalanceIntervalMs,
        logger: this.#logger,
        acquireLease: (name) => journal.acquireLease!(name),
        heldLeases: journal.heldLeases?.bind(journal),
      },
      { take: (p) => this.#serve(p), give: (p) => this.#handOff(p) },
    );
    const ownership = this.#ownership;
    ownership.onChange(() => {
      for (const listener of [...this.#ownershipListeners]) listener(ownership.state);
    });
    await ownership.start();
  }

  /** Sends `message` to entity `entityId`, wherever it lives; resolves once the broker confirmed the publish. */
  async tell(entityId: string, message: JsonValue): Promise<void> {
    await this.#send(entityId, message, undefined);
  }

  /**
   * Sends `message` to entity `entityId` like `tell` (applied exactly once) and resolves with the
   * entity's state after it was applied (its answer to GetEntityState).
   */
  ask<Reply = JsonValue>(entityId: string, message: JsonValue, timeoutMs = this.#options.askTimeoutMs): Promise<Reply> {
    return this.#asks.wait(`${this.typeName}/${entityId}`, timeoutMs, (correlationId) => this.#send(entityId, message, correlationId)) as Promise<unknown> as Promise<Reply>;
  }

  /** Hands every partition to the other processes (consumers closed, entities stopped, leases released), then closes. */
  async stop(): Promise<void> {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return;
    this.#phase = 'stopping';
    await this.#ownership?.stop();
    if (this.#router !== undefined) await this.#options.system.stop(this.#router);
    await this.#asks.close();
    await this.#publisher.close();
    await this.#manager.close();
    this.#phase = 'stopped';
  }

  async #checkPartitionCount(): Promise<void> {
    const o = this.#options;
    const queue = partitionCountQueue(o.typeName);
    try {
      await this.#manager.withTemporaryChannel((channel) => channel.assertQueue(queue, { durable: true, arguments: { 'x-max-length': o.partitions } }));
    } catch (error) {
      const text = describe(error);
      if (!/PRECONDITION_FAILED/.test(text)) throw error;
      // "inequivalent arg 'x-max-length' for queue '...': received '16' but current is '32'"
      const current = /current is '?(\d+)'?/.exec(text)?.[1];
      throw new AmqpPartitionCountError(o.typeName, o.partitions, current === undefined ? undefined : Number(current));
    }
  }

  async #send(entityId: string, message: JsonValue, correlationId: string | undefined): Promise<void> {
    if (typeof entityId !== 'string' || entityId.length === 0) throw new InvalidOptionError(`an entity id is a non-empty string, got ${JSON.stringify(entityId)}`);
    if (this.#phase === 'new') throw new InvalidOptionError(`amqpEntities "${this.typeName}": call start() before sending`);
    if (this.#phase !== 'running') throw new AmqpClosedError(`amqpEntities "${this.typeName}"`);
    const content = Buffer.from(JSON.stringify(message) ?? 'null');
    const deliveryId = (this.#counters.get(entityId) ?? 0) + 1;
    this.#counters.set(entityId, deliveryId);
    const messageId = messageIdOf(this.senderId, deliveryId);
    const headers: Record<string, unknown> = { [HEADER_SENDER]: this.senderId, [HEADER_DELIVERY_ID]: deliveryId, [HEADER_ATTEMPT]: 1, [HEADER_ENTITY]: entityId };
    if (correlationId !== undefined) headers[HEADER_ASK_ID] = correlationId;
    const manifest = typeof message === 'object' && message !== null && !Array.isArray(message) && typeof message.type === 'string' ? message.type : DEFAULT_MANIFEST;
    const routingKey = partitionQueue(this.typeName, partitionOf(entityId, this.#options.partitions));
    const options: Options.Publish = { messageId, persistent: true, mandatory: true, contentType: CONTENT_TYPE_JSON, type: manifest, appId: this.typeName, headers };
    if (correlationId !== undefined) options.correlationId = correlationId;
    const deadline = performance.now() + this.#options.sendTimeoutMs;
    // The same message id on every try: if an unconfirmed try did arrive, the entity dedups the next.
    for (let attempt = 1; ; attempt++) {
      try {
        // The reply queue of now: after a reconnect it has another name.
        if (correlationId !== undefined) headers[HEADER_ASK_REPLY_TO] = this.#asks.replyQueue();
        await this.#publisher.publish({ exchange: '', routingKey, content, options });
        return;
      } catch (error) {
        const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (attempt - 1));
        if (this.#phase !== 'running' || performance.now() + wait > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async #serve(partition: number): Promise<void> {
    const consumer = new AmqpConsumer({
      connection: this.#manager,
      queue: partitionQueue(this.typeName, partition),
      declare: false,
      prefetch: this.#options.prefetch,
      maxDeliveries: MAX_DELIVERIES,
      logger: this.#logger,
      entityKey: (message) => entityOf(message),
      handler: (message) => this.#apply(message),
    });
    this.#consumers.set(partition, consumer);
    try {
      await consumer.start();
    } catch (error) {
      this.#consumers.delete(partition);
      await consumer.close();
      throw error;
    }
  }

  /** Consumer closed first (nothing new arrives, in-flight work finished), then the partition's entities stopped. */
  async #handOff(partition: number): Promise<void> {
    const consumer = this.#consumers.get(partition);
    this.#consumers.delete(partition);
    if (consumer !== undefined) {
      await consumer.close();
      this.#handledBefore += consumer.stats.handled;
    }
    const partitions = this.#options.partitions;
    const stopped = await this.#options.system.ask<unknown>(this.#router!, new StopEntities((id) => partitionOf(id, partitions) === partition), 60_000);
    if (!(stopped instanceof EntitiesStopped)) throw new UnexpectedEntityReplyError(`partition ${partition}`, describeReply(stopped));
  }

  async #apply(message: InboundMessage): Promise<void> {
    const router = this.#router!;
    const id = entityOf(message);
    if (message.kind !== 'steadfast') throw new UnexpectedEntityReplyError(id, 'a message without steadfast headers');
    const system = this.#options.system;
    const reply = await system.ask<unknown>(router, new EntityEnvelope(id, InboundDelivery.from(message, id)), this.#options.replyTimeoutMs);
    if (!(reply instanceof DeliveryApplied) || reply.messageId !== message.messageId) throw new UnexpectedEntityReplyError(id, describeReply(reply));
    const replyTo = message.headers[HEADER_ASK_REPLY_TO];
    const correlationId = message.headers[HEADER_ASK_ID];
    if (typeof replyTo !== 'string' || typeof correlationId !== 'string') return;
    const state = await system.ask<unknown>(router, new EntityEnvelope(id, GetEntityState.instance), this.#options.replyTimeoutMs);
    try {
      await this.#publisher.publish({
        exchange: '',
        routingKey: replyTo,
        content: Buffer.from(JSON.stringify(state) ?? 'null'),
        options: { mandatory: true, contentType: CONTENT_TYPE_JSON, correlationId, messageId: `${message.messageId}:answer` },
      });
    } catch (error) {
      // The asker is gone (its reply queue went with its connection): the command is applied; nobody waits.
      if (!(error instanceof AmqpUnroutableError)) throw error;
    }
  }
}

function entityOf(message: InboundMessage): string {
  const id = message.headers[HEADER_ENTITY];
  if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionError(`message ${message.messageId ?? '(no id)'} names no entity (${HEADER_ENTITY})`);
  return id;
}

/** An entity region spread over every process that starts one with the same `typeName`; call `start()`. */
export function amqpEntities(options: AmqpEntitiesOptions): AmqpEntities {
  return new AmqpEntities(options);
}
