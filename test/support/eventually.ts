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
