/**
 * Confirmations wait here while the previous `confirmed` event is being written, then go out as one
 * event: under load one journal row per write round trip instead of one per confirmation, and an idle
 * outbox still writes the first confirmation at once. A crash before the write only means the
 * deliveries are sent again, which at-least-once allows.
 */
export class ConfirmationBatch {
  readonly #waiting = new Set<number>();
  #writing = false;

  /** `write` persists one `confirmed` event and calls `stored` or `refused` when it is done. */
  constructor(private readonly write: (deliveryIds: number[]) => void) {}

  add(deliveryId: number): void {
    this.#waiting.add(deliveryId);
    if (!this.#writing) this.#writeWaiting();
  }

  /** The batch being written is stored: `apply` handles its event, then the confirmations that waited go out. */
  stored(apply: () => void): void {
    this.#writing = false;
    apply();
    if (this.#waiting.size > 0) this.#writeWaiting();
  }

  /** The journal refused the batch: those deliveries stay unconfirmed and are sent again; their next confirmation is written anew. */
  refused(): void {
    this.#writing = false;
    if (this.#waiting.size > 0) this.#writeWaiting();
  }

  #writeWaiting(): void {
    const deliveryIds = [...this.#waiting];
    this.#waiting.clear();
    this.#writing = true;
    this.write(deliveryIds);
  }
}
