/**
 * When the journal fails a write (disk full, read-only, connection lost) the outbox stops (Akka's
 * onPersistFailure) and its supervisor brings it back; every caller waiting for a write of the stopped
 * incarnation hears the cause at once — the one whose write failed, those queued behind it, a second
 * caller waiting on the same idempotency key, a redrive — instead of waiting for the ask to time out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/index.js';
import { Systems, observedStores } from './support/delivery-fixtures.js';

const systems = new Systems();
afterEach(() => systems.terminateAll());

class DiskFull extends Error {
  readonly code = 'SQLITE_FULL';
}

describe('Outbox when a journal write fails', () => {
  it('rejects every pending send at once with the cause, then accepts again once the journal writes', async () => {
    const plugins = observedStores();
    const system = systems.start('write-failure', plugins);
    const outbox = Outbox.start(system, { redeliverInterval: 60_000, askTimeoutMs: 1000, restartBackoff: { minBackoffMs: 50, maxBackoffMs: 100 } });
    await outbox.stats();

    let failWrite!: () => void;
    const failing = new Promise<void>((resolve) => (failWrite = resolve));
    const rule = plugins.journal.interceptWrites(async () => {
      await failing;
      throw new DiskFull('database or disk is full');
    });
    const settled = (promise: Promise<unknown>) =>
      promise.then(
        () => 'accepted',
        (error: unknown) => error,
      );
    const first = settled(outbox.send('/user/nobody', { n: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Queued behind the write in flight (one write per actor at a time), the second on the first's key.
    const queued = [
      settled(outbox.send('/user/nobody', { n: 2 }, { idempotencyKey: 'k' })),
      settled(outbox.send('/user/nobody', { n: 2 }, { idempotencyKey: 'k' })),
      settled(outbox.send('/user/nobody', { n: 3 })),
    ];
    await new Promise((resolve) => setTimeout(resolve, 20));
    failWrite();
    const answers = await Promise.all([first, ...queued]);
    // The journal's own error, not an AskTimeoutError: each was answered, none left to time out.
    for (const answer of answers) expect(answer).toBeInstanceOf(DiskFull);

    rule.remove();
    let accepted: unknown;
    for (let attempt = 0; attempt < 100 && accepted === undefined; attempt++) {
      accepted = await outbox.send('/user/nobody', { n: 4 }, { idempotencyKey: 'k' }).catch(() => undefined);
      if (accepted === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(accepted).toEqual({ deliveryId: 1, duplicate: false });
  });
});
