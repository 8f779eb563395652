/**
 * What an Outbox reports as it works, for metrics and logs, without the library depending on a metrics
 * client: the service turns these callbacks into Prometheus series (service/metrics.ts). Every callback
 * is optional and runs synchronously inside the outbox (an attempt's failure: when the transport
 * reports it), so keep them cheap; one that throws is logged and ignored, never fails the outbox.
 * Nothing is reported for what a replay rebuilds: only what this process does.
 */
export interface OutboxObserver {
  /** A send was persisted (answered with a new delivery id) and handed to its transport. */
  accepted?(deliveryId: number): void;
  /**
   * Its confirmation was persisted. `acceptToConfirmMs`: wall-clock time since it was accepted (or
   * redriven), across restarts when the `accepted` event was replayed; undefined when the outbox cannot
   * know it (the delivery came back from a snapshot alone).
   */
  confirmed?(deliveryId: number, acceptToConfirmMs: number | undefined): void;
  /** A transport reported an attempt as failed (an error, a refusal, no answer in time). */
  attemptFailed?(deliveryId: number, error: unknown): void;
  /** Given up on and kept as a dead letter (persisted). */
  deadLettered?(deliveryId: number, reason: string): void;
  /** A dead letter was sent again under a new delivery id (persisted). */
  redriven?(deadLetterId: number, newDeliveryId: number): void;
  /**
   * Cancelled (persisted): `from` is `in-flight` for `cancel(id)`, `dead-letter` for
   * `cancelDeadLetter(id)` (it left the dead letters without being sent again).
   */
  cancelled?(deliveryId: number, from: 'in-flight' | 'dead-letter'): void;
  /** The outbox recovered (at start, and after each restart by its supervisor) in `durationMs`. */
  recovered?(durationMs: number, inFlight: number): void;
}

/** Every callback present, each guarded: the outbox calls them without checks on its hot path. */
export type OutboxNotifier = Required<OutboxObserver>;

const ignore = (): void => {};

export function notifierOf(observer: OutboxObserver | undefined, onError: (error: unknown, callback: string) => void): OutboxNotifier {
  // Fixed parameters per callback (one or two): no arguments array per call on the hot path.
  const one = <K extends 'accepted'>(name: K): OutboxNotifier[K] => {
    const callback = observer?.[name];
    if (observer === undefined || callback === undefined) return ignore;
    return (deliveryId: number) => {
      try {
        callback.call(observer, deliveryId);
      } catch (error) {
        onError(error, name);
      }
    };
  };
  const two = <K extends Exclude<keyof OutboxObserver, 'accepted'>>(name: K): OutboxNotifier[K] => {
    const callback = observer?.[name] as ((this: OutboxObserver, first: unknown, second: unknown) => void) | undefined;
    if (observer === undefined || callback === undefined) return ignore;
    return ((first: unknown, second: unknown) => {
      try {
        callback.call(observer, first, second);
      } catch (error) {
        onError(error, name);
      }
    }) as OutboxNotifier[K];
  };
  return {
    accepted: one('accepted'),
    confirmed: two('confirmed'),
    attemptFailed: two('attemptFailed'),
    deadLettered: two('deadLettered'),
    redriven: two('redriven'),
    cancelled: two('cancelled'),
    recovered: two('recovered'),
  };
}
