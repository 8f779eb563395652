/**
 * The outbox's idempotency keys: which delivery id a key was given and for which request (a hash of
 * its destination and payload), and who waits for a key whose `accepted` event is still being
 * persisted (a retry that arrives meanwhile gets the same id, not a second delivery). A key sent again
 * with a different request is refused instead of answered as a duplicate: the new content would be
 * dropped without anyone noticing. At most `max` keys are remembered, the oldest forgotten first.
 */
import { createHash } from 'node:crypto';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { PlainDestination } from '../destination.js';
import type { JsonValue } from '../transport.js';
import type { IdempotencyKeyEntry } from './outbox-protocol.js';

/** What a key already means for a request: nothing yet, the same request (its id), or another one. */
export type KeyUse = { readonly kind: 'new' } | { readonly kind: 'same'; readonly deliveryId: number } | { readonly kind: 'reused'; readonly deliveryId: number | undefined };

interface Remembered {
  readonly deliveryId: number;
  /** Undefined for keys accepted before requests were hashed: they keep answering as duplicates. */
  readonly requestHash: string | undefined;
}

interface Pending {
  readonly requestHash: string | undefined;
  readonly waiters: ActorRef[];
}

const NEW: KeyUse = { kind: 'new' };

export class IdempotencyKeys {
  readonly #keys = new Map<string, Remembered>();
  readonly #pending = new Map<string, Pending>();

  constructor(private readonly max: number) {}

  /**
   * What `key` means for a request with `requestHash`. While the key's first request is being persisted,
   * the same request waits (`waiter` is answered by `settle`) and `undefined` is returned.
   */
  use(key: string, requestHash: string | undefined, waiter: ActorRef): KeyUse | undefined {
    const known = this.#keys.get(key);
    if (known !== undefined) {
      return differ(known.requestHash, requestHash) ? { kind: 'reused', deliveryId: known.deliveryId } : { kind: 'same', deliveryId: known.deliveryId };
    }
    const pending = this.#pending.get(key);
    if (pending === undefined) return NEW;
    if (differ(pending.requestHash, requestHash)) return { kind: 'reused', deliveryId: undefined };
    pending.waiters.push(waiter);
    return undefined;
  }

  markPending(key: string, requestHash: string | undefined): void {
    this.#pending.set(key, { requestHash, waiters: [] });
  }

  /** The key's `accepted` event was persisted (or refused): returns who waited for it, and forgets them. */
  settle(key: string): readonly ActorRef[] {
    const waiting = this.#pending.get(key)?.waiters ?? [];
    this.#pending.delete(key);
    return waiting;
  }

  remember(key: string, deliveryId: number, requestHash: string | undefined): void {
    this.#keys.set(key, { deliveryId, requestHash });
    while (this.#keys.size > this.max) this.#keys.delete(this.#keys.keys().next().value!);
  }

  entries(): IdempotencyKeyEntry[] {
    const entries: IdempotencyKeyEntry[] = [];
    for (const [key, { deliveryId, requestHash }] of this.#keys) entries.push(requestHash === undefined ? [key, deliveryId] : [key, deliveryId, requestHash]);
    return entries;
  }

  restore(entries: readonly IdempotencyKeyEntry[]): void {
    for (const [key, deliveryId, requestHash] of entries) this.#keys.set(key, { deliveryId, requestHash });
  }
}

/** A record without a hash (written before 0.2.0) matches every request, as it did then. */
function differ(stored: string | undefined, given: string | undefined): boolean {
  return stored !== undefined && given !== undefined && stored !== given;
}

/**
 * SHA-256 (base64url) of the request in a canonical form: object keys sorted at every level, so the
 * same destination (headers included) and payload hash the same whatever order their fields came in.
 */
export function requestHashOf(destination: PlainDestination, payload: JsonValue): string {
  return createHash('sha256')
    .update(canonicalJson({ destination: destination as unknown as JsonValue, payload }))
    .digest('base64url');
}

function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value)
    .filter((key) => value[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key]!)}`).join(',')}}`;
}
