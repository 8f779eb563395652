/**
 * Where the payload of each unconfirmed outbox delivery lives and how big it is: the sequence number
 * of the `accepted` event that holds it (so a snapshot can reference it instead of copying it), and
 * its serialized size, summed for the byte budget (`maxUnconfirmedBytes`).
 */
import type { JsonValue } from '../transport.js';

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

/**
 * The payload's size as JSON in UTF-8 (what the journal stores), counted without building the JSON
 * text: a send of a 100 KB payload would otherwise allocate 100 KB more garbage just to be measured.
 * Equals `Buffer.byteLength(JSON.stringify(payload))` (test/delivery/outbox-backpressure.test.ts).
 */
export function payloadBytes(payload: JsonValue): number {
  switch (typeof payload) {
    case 'string':
      return stringBytes(payload);
    case 'number':
      return Number.isFinite(payload) ? String(payload).length : 4;
    case 'boolean':
      return payload ? 4 : 5;
    case 'object': {
      if (payload === null) return 4;
      if (Array.isArray(payload)) {
        let bytes = 2 + Math.max(0, payload.length - 1);
        for (const item of payload) bytes += item === undefined || typeof item === 'function' ? 4 : payloadBytes(item);
        return bytes;
      }
      let bytes = 2;
      let fields = 0;
      for (const key of Object.keys(payload)) {
        const value = payload[key];
        if (value === undefined || typeof value === 'function') continue;
        bytes += stringBytes(key) + 1 + payloadBytes(value);
        fields++;
      }
      return bytes + Math.max(0, fields - 1);
    }
    default:
      return 0;
  }
}

// Characters JSON.stringify escapes: quote, backslash, controls, and lone surrogates (matching them is the point).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the controls are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function stringBytes(text: string): number {
  if (!NEEDS_ESCAPE.test(text)) return Buffer.byteLength(text) + 2;
  return Buffer.byteLength(JSON.stringify(text));
}
