import { SteadfastError } from '../src/actor/errors.js';

export class MaxUnconfirmedMessagesExceededError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly maxUnconfirmedMessages: number,
  ) {
    super(
      'ERR_MAX_UNCONFIRMED_EXCEEDED',
      `"${persistenceId}" already has ${maxUnconfirmedMessages} unconfirmed deliveries (maxUnconfirmedMessages); confirm some before delivering more`,
    );
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
