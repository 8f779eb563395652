/**
 * Where the payload of each unconfirmed outbox delivery lives and how big it is: the sequence number
 * of the `accepted` event that holds it (so a snapshot can reference it instead of copying it), and
 * its serialized size, summed for the byte budget (`maxUnconfirmedBytes`).
 */
export class UnconfirmedPayloads {
  /** deliveryId → sequence number of the `accepted` event holding the payload (absent: none does). */
  readonly #at = new Map<number, number>();
  readonly #bytes = new Map<number, number>();
  #total = 0;

  constructor(readonly maxBytes: number) {}

  /** Serialized bytes of every unconfirmed payload. */
  get bytes(): number {
    return this.#total;
  }

  added(deliveryId: number, bytes: number, payloadAt: number | undefined): void {
    this.removed(deliveryId);
    this.#bytes.set(deliveryId, bytes);
    this.#total += bytes;
    if (payloadAt !== undefined) this.#at.set(deliveryId, payloadAt);
  }

  removed(deliveryId: number): void {
    const bytes = this.#bytes.get(deliveryId);
    if (bytes === undefined) return;
    this.#bytes.delete(deliveryId);
    this.#at.delete(deliveryId);
    this.#total -= bytes;
  }

  payloadAt(deliveryId: number): number | undefined {
    return this.#at.get(deliveryId);
  }

  bytesOf(deliveryId: number): number {
    return this.#bytes.get(deliveryId) ?? 0;
  }

  clear(): void {
    this.#at.clear();
    this.#bytes.clear();
    this.#total = 0;
  }
}
