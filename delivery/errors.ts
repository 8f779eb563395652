import { SteadfastError } from '../src/actor/errors.js';

export class MaxUnconfirmedMessagesExceededError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly maxUnconfirmedMessages: number,
    /** For MaxUnconfirmedBytesExceededError, which callers may treat alike (the service answers 429 to both). */
    refusal?: { readonly code: 'ERR_MAX_UNCONFIRMED_BYTES_EXCEEDED'; readonly message: string },
  ) {
    super(
      refusal?.code ?? 'ERR_MAX_UNCONFIRMED_EXCEEDED',
      refusal?.message ?? `"${persistenceId}" already has ${maxUnconfirmedMessages} unconfirmed deliveries (maxUnconfirmedMessages); confirm some before delivering more`,
    );
  }
}

/**
 * The outbox's byte budget: the serialized payloads of its unconfirmed deliveries would pass
 * `maxUnconfirmedBytes`. A subclass of the count's error, so whoever handles one (a 429) handles both.
 */
export class MaxUnconfirmedBytesExceededError extends MaxUnconfirmedMessagesExceededError {
  constructor(
    persistenceId: string,
    maxUnconfirmedMessages: number,
    readonly maxUnconfirmedBytes: number,
    readonly unconfirmedBytes: number,
    readonly refusedBytes: number,
  ) {
    super(persistenceId, maxUnconfirmedMessages, {
      code: 'ERR_MAX_UNCONFIRMED_BYTES_EXCEEDED',
      message: `"${persistenceId}" holds ${unconfirmedBytes} bytes of unconfirmed payloads; ${refusedBytes} more would pass maxUnconfirmedBytes (${maxUnconfirmedBytes}); confirm some before delivering more`,
    });
  }
}

/**
 * Deleting these events would lose the delivery id counter (Akka.NET issue 2372: ids would restart
 * and collide with ids receivers already applied). Save a snapshot holding getDeliverySnapshot() first:
 * once it is stored, the events up to its sequence number may go.
 */
export class DeliveryStateDeletionError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly toSequenceNr: number,
    readonly coveredUpTo: number,
  ) {
    super(
      'ERR_DELIVERY_STATE_DELETION',
      `refusing to delete events of "${persistenceId}" up to ${toSequenceNr}: they carry delivery state and no snapshot holding the delivery counter covers them (covered up to ${coveredUpTo}); save a snapshot that is, or has as a field, the current getDeliverySnapshot() first`,
    );
  }
}

/**
 * An outbox snapshot names `accepted` events that hold the payloads of its unconfirmed deliveries,
 * and one of them is gone: the journal lost events the snapshot needs (pruned or replaced by hand).
 * Recovery fails rather than inventing a payload.
 */
export class SnapshotPayloadMissingError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly snapshotSequenceNr: number,
    readonly missing: readonly { readonly deliveryId: number; readonly payloadAt: number }[],
  ) {
    const first = missing.slice(0, 5).map((entry) => `delivery ${entry.deliveryId} at event ${entry.payloadAt}`);
    super(
      'ERR_SNAPSHOT_PAYLOAD_MISSING',
      `the snapshot of "${persistenceId}" at ${snapshotSequenceNr} references payloads that are no longer in the journal (${first.join(', ')}${missing.length > 5 ? `, and ${missing.length - 5} more` : ''})`,
    );
  }
}

/** Every delivery id up to Number.MAX_SAFE_INTEGER was handed out: ids are never reused, so no more deliveries. */
export class DeliveryIdsExhaustedError extends SteadfastError {
  constructor(readonly persistenceId: string) {
    super('ERR_DELIVERY_IDS_EXHAUSTED', `"${persistenceId}" has handed out every delivery id up to ${Number.MAX_SAFE_INTEGER}; ids are never reused`);
  }
}

/** `Outbox.redrive(id)` for a delivery that is not (or no longer) dead-lettered. */
export class DeliveryNotDeadLetteredError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly deliveryId: number,
  ) {
    super('ERR_NOT_DEAD_LETTERED', `delivery ${deliveryId} is not dead-lettered`);
  }
}

/**
 * `Outbox.send` with an idempotency key that was already used for a different request (another
 * destination or payload): answering it as a duplicate would drop the new content unnoticed.
 */
export class IdempotencyKeyReusedError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly idempotencyKey: string,
    /** The delivery the key was first given; undefined while that first request is still being persisted. */
    readonly deliveryId: number | undefined,
  ) {
    super(
      'ERR_IDEMPOTENCY_KEY_REUSED',
      `idempotency key ${JSON.stringify(idempotencyKey)} was already used for a different request${deliveryId === undefined ? '' : ` (delivery ${deliveryId})`}; use a new key for a new message`,
    );
  }
}

export class UnknownTransportError extends SteadfastError {
  constructor(readonly transport: string) {
    super('ERR_UNKNOWN_TRANSPORT', `no transport named "${transport}" is registered; pass it in ActorSystem.create(name, { transports: [...] })`);
  }
}
