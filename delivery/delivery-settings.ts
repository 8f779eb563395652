import { InvalidOptionError } from '../src/actor/errors.js';
import { validateStoreId } from './sender-identity.js';
import type { DeliveryTransport } from './transport.js';

/** Settings of one AtLeastOnceDeliveryActor (constructor options) or system-wide defaults. Durations in ms. */
export interface AtLeastOnceDeliverySettings {
  /** An unconfirmed delivery is sent again once it is this old. Default 5000. */
  redeliverInterval?: number;
  /** At most this many redeliveries per tick (oldest first). Default 10 000. */
  redeliveryBurstLimit?: number;
  /** After this many sends without a confirmation, UnconfirmedWarning is sent to the actor. Default 5. */
  warnAfterNumberOfUnconfirmedAttempts?: number;
  /** `deliver` throws MaxUnconfirmedMessagesExceededError past this many. Default 100 000. */
  maxUnconfirmedMessages?: number;
  /**
   * Opt-in: instead of a fixed interval, wait redeliverInterval × 2^(attempt−1), capped at
   * `maxInterval` and stretched by up to `randomFactor` (jitter), before each redelivery.
   */
  redeliveryBackoff?: { maxInterval: number; randomFactor?: number };
  /** Opt-in: after this many sends, hand the delivery to the actor as DeliveryAttemptsExhausted. */
  deadLetterAfterAttempts?: number;
  /**
   * The store id in the actor's wire identity (`${persistenceId}@${storeId}`). Default: a random id
   * created once and kept in the journal. Changing it later keys new deliveries with the new id;
   * deliveries sent before keep their key.
   */
  storeId?: string;
}

export interface ResolvedDeliverySettings {
  readonly redeliverInterval: number;
  readonly redeliveryBurstLimit: number;
  readonly warnAfterNumberOfUnconfirmedAttempts: number;
  readonly maxUnconfirmedMessages: number;
  readonly redeliveryBackoff: { readonly maxInterval: number; readonly randomFactor: number } | undefined;
  readonly deadLetterAfterAttempts: number | undefined;
  readonly storeId: string | undefined;
}

declare module '../src/actor/actor-system.js' {
  interface ActorSystemOptions {
    /** System-wide defaults for AtLeastOnceDeliveryActor; each actor may override them. */
    atLeastOnceDelivery?: AtLeastOnceDeliverySettings;
    /** Transports for deliveries to destinations outside the system (RabbitMQ, HTTP, ...). */
    transports?: readonly DeliveryTransport[];
  }
}

function positive(name: string, value: unknown, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && Number.isFinite(value) && value > 0 && (!integer || Number.isSafeInteger(value));
  if (!ok) {
    throw new InvalidOptionError(`at-least-once delivery setting ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

export function resolveDeliverySettings(options: AtLeastOnceDeliverySettings = {}, base?: ResolvedDeliverySettings): ResolvedDeliverySettings {
  const backoff = options.redeliveryBackoff ?? base?.redeliveryBackoff;
  const redeliverInterval = positive('redeliverInterval', options.redeliverInterval, base?.redeliverInterval ?? 5000, false);
  let redeliveryBackoff: ResolvedDeliverySettings['redeliveryBackoff'];
  if (backoff !== undefined) {
    const maxInterval = positive('redeliveryBackoff.maxInterval', backoff.maxInterval, redeliverInterval, false);
    const randomFactor = backoff.randomFactor ?? 0.2;
    if (!(typeof randomFactor === 'number' && randomFactor >= 0 && Number.isFinite(randomFactor))) {
      throw new InvalidOptionError(`at-least-once delivery setting redeliveryBackoff.randomFactor must be >= 0, got ${JSON.stringify(randomFactor)}`);
    }
    if (maxInterval < redeliverInterval) {
      throw new InvalidOptionError(`redeliveryBackoff.maxInterval (${maxInterval}) must be >= redeliverInterval (${redeliverInterval})`);
    }
    redeliveryBackoff = { maxInterval, randomFactor };
  }
  const deadLetterAfter = options.deadLetterAfterAttempts ?? base?.deadLetterAfterAttempts;
  return {
    redeliverInterval,
    redeliveryBurstLimit: positive('redeliveryBurstLimit', options.redeliveryBurstLimit, base?.redeliveryBurstLimit ?? 10_000, true),
    warnAfterNumberOfUnconfirmedAttempts: positive(
      'warnAfterNumberOfUnconfirmedAttempts',
      options.warnAfterNumberOfUnconfirmedAttempts,
      base?.warnAfterNumberOfUnconfirmedAttempts ?? 5,
      true,
    ),
    maxUnconfirmedMessages: positive('maxUnconfirmedMessages', options.maxUnconfirmedMessages, base?.maxUnconfirmedMessages ?? 100_000, true),
    redeliveryBackoff,
    deadLetterAfterAttempts: deadLetterAfter === undefined ? undefined : positive('deadLetterAfterAttempts', deadLetterAfter, 1, true),
    storeId: validateStoreId(options.storeId, 'at-least-once delivery setting storeId') ?? base?.storeId,
  };
}
