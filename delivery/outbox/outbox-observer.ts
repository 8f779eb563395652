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
  /** Cancelled by `cancel(id)` (persisted). */
  cancelled?(deliveryId: number): void;
  /** The outbox recovered (at start, and after each restart by its supervisor) in `durationMs`. */
  recovered?(durationMs: number, inFlight: number): void;
}

/** Every callback present, each guarded: the outbox calls them without checks on its hot path. */
export type OutboxNotifier = Required<OutboxObserver>;

const ignore = (): void => {};

export function notifierOf(observer: OutboxObserver | undefined, onError: (error: unknown, callback: string) => void): OutboxNotifier {
  const guard = <K extends keyof OutboxObserver>(name: K): OutboxNotifier[K] => {
    const callback = observer?.[name];
    if (callback === undefined) return ignore;
    return ((...args: unknown[]) => {
      try {
        (callback as (...values: unknown[]) => void).apply(observer, args);
      } catch (error) {
        onError(error, name);
      }
    }) as OutboxNotifier[K];
  };
  return {
    accepted: guard('accepted'),
    confirmed: guard('confirmed'),
    attemptFailed: guard('attemptFailed'),
    deadLettered: guard('deadLettered'),
    redriven: guard('redriven'),
    cancelled: guard('cancelled'),
    recovered: guard('recovered'),
  };
}
