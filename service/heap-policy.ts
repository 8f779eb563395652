/**
 * How far V8 lets the heap grow past what is alive before a full collection. By default it may grow to
 * several times the live heap when collections are fast, sized for a machine with memory to spare. The
 * service holds up to MAX_UNCONFIRMED_BYTES (256 MiB) of unconfirmed payloads outside the heap
 * (delivery/held-message.ts), so its live heap is small, but each large send still makes its size in
 * garbage several times over (the request body, the journal's JSON, the bytes held): with 100 KB payloads
 * and the destination down, that garbage took the process past 600 MiB of RSS. A growth of 20% keeps it
 * near 450 MiB at ~20% more CPU in that run (bench/README.md, issue 15); with small messages the live
 * heap is tiny and collections stay cheap. `HEAP_GROWING_PERCENT=0` leaves V8's own policy.
 *
 * V8 reads the flag at every collection, so setting it at start (before the journal and the outbox
 * allocate anything large) takes effect for the whole run.
 */
import { setFlagsFromString } from 'node:v8';

export function applyHeapPolicy(heapGrowingPercent: number): void {
  if (heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
}
