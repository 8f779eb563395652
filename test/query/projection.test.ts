/**
 * startProjection over the in-memory journal, as a read-model author uses it: every tagged event reaches
 * the handler and the offset is stored after it; a restarted projection resumes after the stored offset;
 * batches gather what is already read; a failing handler is retried, then stops the projection or skips
 * and records the event; a reset offset rebuilds from the start; one name runs once per system.
 */
import { describe, expect, it } from 'vitest';
import { type ActorRef, type EventAdapter, type EventEnvelope, PersistentActor, ProjectionFailedError, type readJournalOf, startProjection, Tagged } from '../../src/index.js';
import { memoryPlugins, testSystem } from '../persistence/support/harness.js';

type Command = { amount: number };
class Account extends PersistentActor<Command, Tagged<{ amount: number }>> {
  constructor(readonly persistenceId: string) {
    super();
  }
  onCommand(command: Command): void {
    void this.persist(new Tagged({ amount: command.amount }, ['accounts']), () => this.sender.tell(this.lastSequenceNr));
  }
  onRecover(): void {}
}

async function deposit(ref: ActorRef<Command>, ...amounts: number[]): Promise<void> {
  for (const amount of amounts) await ref.ask({ amount });
}

const byTag = (readJournal: ReturnType<typeof readJournalOf>, offset: number, options: { signal?: AbortSignal }) => readJournal.eventsByTag('accounts', offset, options);
const amountOf = (envelope: EventEnvelope) => (envelope.event as { amount: number }).amount;

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  await expect.poll(check, { timeout: 10_000 }).toBe(true);
}

describe('startProjection', () => {
  it('folds every event into the read model, stores the offset, and a restarted projection resumes after it', async () => {
    const plugins = memoryPlugins();
    const { system } = testSystem(plugins);
    const account = system.actorOf(() => new Account('acc-1'));
    await deposit(account, 1, 2, 3);
    let total = 0;
    const seen: number[] = [];
    const first = startProjection(system, {
      name: 'totals',
      query: byTag,
      handler: (envelope) => {
        total += amountOf(envelope);
        seen.push(amountOf(envelope));
      },
    });
    await until(() => total === 6);
    await deposit(account, 4);
    await until(() => total === 10);
    await until(async () => (await plugins.journal.offsetStore().readOffset('totals')) === first.offset && first.offset > 0);
    expect(await first.lag()).toBe(0);
    await first.stop();
    expect(first.state).toBe('stopped');

    await deposit(account, 5);
    const again = startProjection(system, {
      name: 'totals',
      query: byTag,
      handler: (envelope) => {
        total += amountOf(envelope);
        seen.push(amountOf(envelope));
      },
    });
    await until(() => total === 15);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    await again.stop();
  });

  it('hands handleBatch the events already read, up to batchSize', async () => {
    const { system } = testSystem();
    const account = system.actorOf(() => new Account('acc-batch'));
    await deposit(account, ...Array.from({ length: 30 }, (_, i) => i + 1));
    const batches: number[][] = [];
    const projection = startProjection(system, { name: 'batches', query: byTag, batchSize: 8, handleBatch: (envelopes) => void batches.push(envelopes.map(amountOf)) });
    await until(() => batches.flat().length === 30);
    expect(batches.flat()).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(Math.max(...batches.map((batch) => batch.length))).toBe(8);
    expect(batches.length).toBeLessThan(30);
    await projection.stop();
  });

  it('retries a failing handler with backoff; an event that fails for good stops the projection before its offset', async () => {
    const plugins = memoryPlugins();
    const { system } = testSystem(plugins);
    const account = system.actorOf(() => new Account('acc-fail'));
    await deposit(account, 1, 2, 3);
    let attempts = 0;
    const projection = startProjection(system, {
      name: 'strict',
      query: byTag,
      retry: { maxRetries: 3, minBackoffMs: 5 },
      handler: (envelope) => {
        if (amountOf(envelope) === 2) {
          attempts++;
          throw new Error('cannot project 2');
        }
      },
    });
    const failure = await projection.done.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ProjectionFailedError);
    expect((failure as ProjectionFailedError).envelope.sequenceNr).toBe(2);
    expect(attempts).toBe(4);
    const stored = await plugins.journal.offsetStore().readOffset('strict');
    expect(stored).toBeGreaterThan(0);
    expect(projection.offset).toBe(stored);
    expect(projection.state).toBe('stopped');
  });

  it('stops when the newest event fails for good, although its query is waiting for more', async () => {
    const { system } = testSystem();
    const account = system.actorOf(() => new Account('acc-fail-last'));
    await deposit(account, 1, 2);
    const projection = startProjection(system, {
      name: 'strict-last',
      query: byTag,
      retry: { maxRetries: 1, minBackoffMs: 5 },
      handler: (envelope) => {
        if (amountOf(envelope) === 2) throw new Error('cannot project 2');
      },
    });
    await expect(projection.done).rejects.toBeInstanceOf(ProjectionFailedError);
    expect(projection.state).toBe('stopped');
  });

  it('skips and records an event that keeps failing when onFailure is "skip", and goes on; a transient failure is retried and applied once', async () => {
    const plugins = memoryPlugins();
    const { system } = testSystem(plugins);
    const account = system.actorOf(() => new Account('acc-skip'));
    await deposit(account, 1, 2, 3, 4);
    const applied: number[] = [];
    let flaky = 2;
    const projection = startProjection(system, {
      name: 'lenient',
      query: byTag,
      onFailure: 'skip',
      retry: { maxRetries: 2, minBackoffMs: 5 },
      handler: (envelope) => {
        const amount = amountOf(envelope);
        if (amount === 2) throw new Error('poison');
        if (amount === 3 && flaky-- > 0) throw new Error('transient');
        applied.push(amount);
      },
    });
    await until(() => applied.length === 3);
    expect(applied).toEqual([1, 3, 4]);
    const skipped = await plugins.journal.offsetStore().skippedEvents('lenient');
    expect(skipped.map(({ persistenceId, sequenceNr, error }) => ({ persistenceId, sequenceNr, error }))).toEqual([{ persistenceId: 'acc-skip', sequenceNr: 2, error: 'poison' }]);
    await projection.stop();
  });

  it('rebuilds from the start after its offset is reset; refuses a second projection of the same name; stops with the system', async () => {
    const plugins = memoryPlugins();
    const { system } = testSystem(plugins);
    const account = system.actorOf(() => new Account('acc-rebuild'));
    await deposit(account, 1, 2);
    const seen: number[] = [];
    const first = startProjection(system, { name: 'rebuilt', query: byTag, handler: (envelope) => void seen.push(amountOf(envelope)) });
    await until(() => seen.length === 2);
    expect(() => startProjection(system, { name: 'rebuilt', query: byTag, handler: () => {} })).toThrow(/running in this system already/);
    await first.stop();
    await plugins.journal.offsetStore().resetOffset('rebuilt');
    const second = startProjection(system, { name: 'rebuilt', query: byTag, handler: (envelope) => void seen.push(amountOf(envelope)) });
    await until(() => seen.length === 4);
    expect(seen).toEqual([1, 2, 1, 2]);
    await system.terminate();
    await second.done;
    expect(second.state).toBe('stopped');
  });

  it('reads ahead of the handler, yet hands it every event before one that cannot be read, then stops at that one', async () => {
    // The adapter fails on the 7th event: the read-ahead decodes it while earlier batches are handled.
    const unreadable: EventAdapter = {
      fromJournal: (event) => {
        if ((event as { amount: number }).amount === 7) throw new Error('cannot upcast');
        return event;
      },
    };
    const { system } = testSystem({ persistence: { eventAdapters: [unreadable] } });
    const account = system.actorOf(() => new Account('acct-unreadable'));
    await deposit(account, ...Array.from({ length: 12 }, (_, i) => i + 1));
    const seen: number[] = [];
    const projection = startProjection(system, {
      name: 'unreadable',
      query: byTag,
      batchSize: 4,
      handleBatch: async (envelopes) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push(...envelopes.map(amountOf));
      },
    });
    await expect(projection.done).rejects.toThrow(/cannot upcast/);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(projection.state).toBe('stopped');
  });

  it('refuses options that cannot work', () => {
    const { system } = testSystem();
    expect(() => startProjection(system, { name: '', query: byTag, handler: () => {} })).toThrow(/name/);
    expect(() => startProjection(system, { name: 'x', query: byTag } as never)).toThrow(/handler/);
    expect(() => startProjection(system, { name: 'x', query: byTag, handler: () => {}, onFailure: 'ignore' as never })).toThrow(/onFailure/);
  });
});
