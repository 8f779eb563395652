/**
 * One `abort` listener per AbortSignal, however many queries share the signal. A program often ends
 * many queries with one signal (a request's, a shutdown's); one listener per query would pass Node's
 * limit of 10 per EventTarget and print a MaxListenersExceededWarning, a leak warning for what is no
 * leak. Raising the limit (`setMaxListeners`) would change a signal the caller owns; this does not.
 */
interface Shared {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const bySignal = new WeakMap<AbortSignal, Shared>();

/** Calls `callback` once when `signal` aborts; returns the function that cancels it. */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let shared = bySignal.get(signal);
  if (shared === undefined) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      bySignal.delete(signal);
      for (const each of callbacks) each();
      callbacks.clear();
    };
    shared = { callbacks, listener };
    bySignal.set(signal, shared);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener } = shared;
  // A distinct function per call, so the same callback registered twice is cancelled once each.
  const entry = () => callback();
  callbacks.add(entry);
  return () => {
    if (!callbacks.delete(entry) || callbacks.size > 0) return;
    if (bySignal.get(signal)?.callbacks === callbacks) bySignal.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
