/**
 * Waits until an asynchronous query (e.g. an outbox's stats, asked from an actor) satisfies
 * `condition`, asking again every `intervalMs`; rejects with the last answer at the deadline. For
 * state that lives behind an ask and announces no events; where an event can be awaited, await it.
 */
export async function eventually<T>(query: () => Promise<T>, condition: (value: T) => boolean, timeoutMs: number, what: string, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await query();
    if (condition(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `eventually` for a yes/no check: polls `check` until it holds; the deadline fails the test naming `what`. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000, intervalMs = 100): Promise<void> {
  await eventually(
    async () => check(),
    (ok) => ok,
    timeoutMs,
    `until ${what}`,
    intervalMs,
  );
}

/** `eventually` for a probe that answers `undefined` until the value is there. */
export async function eventualValue<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000, intervalMs = 20): Promise<T> {
  return (await eventually(probe, (value) => value !== undefined, timeoutMs, what, intervalMs)) as T;
}
