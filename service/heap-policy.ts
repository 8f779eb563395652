/**
 * How far V8 lets the heap grow past what is alive before a full collection. By default it may grow to
 * several times the live heap when collections are fast, sized for a machine with memory to spare. The
 * service holds up to MAX_UNCONFIRMED_BYTES (256 MiB) of unconfirmed payloads outside the heap
 * (delivery/held-message.ts), so its live heap is small, but each large send still makes its size in
 * garbage several times over (the request body, the journal's JSON, the bytes held): with 100 KB payloads
 * and the destination down, that garbage took the process past 600 MiB of RSS. A growth of 20% keeps it
 * near 450 MiB (bench/README.md, issue 15).
 *
 * That limit costs CPU wherever the heap is busy but small: with small messages and 20 000 in flight, a
 * 20% growth means a full collection every few MiB promoted, ~30 µs more CPU per message in the
 * service bench (bench/README.md, 2026-12-04). So the limit is on only while the heap is large: it is
 * switched on once heap use passes `limitAboveBytes` and back to V8's own policy below half of that,
 * looked at every `checkIntervalMs`. V8 reads the flag at every collection, so switching takes effect at
 * the next one. `HEAP_GROWING_PERCENT=0` leaves V8's own policy throughout.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface HeapPolicyOptions {
  /**
   * Heap use (bytes) past which growth is limited. Default 64 MiB: the service bench's heap peaks near
   * 42 MiB with 20 000 small messages in flight, the 100 KB run passes 64 MiB within its first sends.
   */
  readonly limitAboveBytes?: number;
  /** How often heap use is looked at, in ms. Default 50 (reading it costs about a microsecond). */
  readonly checkIntervalMs?: number;
}

export interface HeapPolicy {
  /** Whether growth is limited right now. */
  readonly limiting: boolean;
  /** Looks at heap use now (the timer does this by itself). */
  check(): void;
  /** Stops looking and gives V8 its own policy back. */
  stop(): void;
}

const MiB = 1024 * 1024;

/** A heap that hovers around the threshold must not be collected over and over. */
const MIN_MS_BETWEEN_COLLECTIONS = 10_000;

let collector: (() => void) | undefined;
let lastCollection = Number.NEGATIVE_INFINITY;
/** A full collection (the `gc` that `--expose-gc` gives a new context; the process's own globals get none). */
function collectNow(): void {
  const now = performance.now();
  if (now - lastCollection < MIN_MS_BETWEEN_COLLECTIONS) return;
  lastCollection = now;
  if (collector === undefined) {
    setFlagsFromString('--expose-gc');
    collector = runInNewContext('gc') as () => void;
  }
  collector();
}
const DEFAULT_LIMIT_ABOVE_BYTES = 64 * MiB;
const DEFAULT_CHECK_INTERVAL_MS = 50;

export function applyHeapPolicy(heapGrowingPercent: number, options: HeapPolicyOptions = {}): HeapPolicy {
  const limitAbove = options.limitAboveBytes ?? DEFAULT_LIMIT_ABOVE_BYTES;
  let limiting = false;
  const setLimiting = (on: boolean): void => {
    if (on === limiting) return;
    limiting = on;
    // 0 is V8's own (dynamic) growing factor.
    setFlagsFromString(`--heap-growing-percent=${on ? heapGrowingPercent : 0}`);
    // The limit V8 set under its own policy stands until the next full collection, which may be
    // hundreds of MiB away: collect once now so that the new growth applies from here.
    if (on) collectNow();
  };
  const check = (): void => {
    const used = getHeapStatistics().used_heap_size;
    if (!limiting && used > limitAbove) setLimiting(true);
    else if (limiting && used < limitAbove / 2) setLimiting(false);
  };
  const timer = heapGrowingPercent > 0 ? setInterval(check, options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS) : undefined;
  timer?.unref();
  return {
    get limiting() {
      return limiting;
    },
    check: () => {
      if (heapGrowingPercent > 0) check();
    },
    stop: () => {
      clearInterval(timer);
      setLimiting(false);
    },
  };
}
