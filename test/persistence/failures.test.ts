import { describe, expect, it } from 'vitest';
import { Actor, BackoffSupervisor, CircuitBreakerOpenError, RecoveryCompleted, RecoveryTimeoutError, SerializationError, Terminated, type ActorRef } from '../../src/index.js';
import { TestJournal } from '../../journal/testkit/test-journal.js';
import { storedPayloads } from './support/stored-events.js';
import { captureLogs, Deferred, memoryPlugins, Recorder, testSystem } from './support/harness.js';
import { ScriptedActor, type Script } from './support/scripted-actor.js';
import { ManualClock } from '../support/manual-clock.js';

/** Watches `target` and resolves when it stops. */
function watchStop(system: ReturnType<typeof testSystem>['system'], target: ActorRef): Promise<void> {
  const stopped = new Deferred();
  class Watcher extends Actor {
    override preStart(): void {
      this.context.watch(target);
    }
    receive(message: unknown): void {
      if (message instanceof Terminated) stopped.resolve();
    }
  }
  system.actorOf(() => new Watcher());
  return stopped.promise;
}

const persistingScript = (log: Recorder<unknown>, extra: Partial<Script> = {}): Script => ({
  recover: (_actor, message) => log.push(message instanceof RecoveryCompleted ? 'recovered' : { replayed: message }),
  command(actor, command) {
    void actor.persist(command, (event) => {
      log.push({ handled: event, seq: actor.lastSequenceNr });
      actor.sender.tell(actor.lastSequenceNr);
    });
  },
  ...extra,
});

describe('persist failures', () => {
  it('onPersistFailure: the journal failed, the hook runs with the event and its sequence number, the actor stops', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    const logs = captureLogs();
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore, logger: logs.logger });
    const log = new Recorder<unknown>();
    const ref = system.actorOf(() => new ScriptedActor('f-1', persistingScript(log)), 'f');
    const stopped = watchStop(system, ref);
    expect(await ref.ask('a')).toBe(1);
    journal.failWrites({}, new Error('connection reset'));
    const ask = ref.ask('b', 300);
    await stopped;
    await expect(ask).rejects.toThrow(/no reply/);
    const line = await logs.waitFor((l) => l.msg.includes('persisting to "f-1" failed'));
    expect(line).toMatchObject({ persistenceId: 'f-1', sequenceNr: 2, level: 50 });
    expect((line.err as { message: string }).message).toBe('connection reset');
    expect(log.values).toEqual(['recovered', { handled: 'a', seq: 1 }]);
    expect(await storedPayloads(plugins.journal, 'f-1')).toEqual(['a']);
  });

  it('a custom onPersistFailure sees the cause, the event and its sequence number', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    journal.failWrites({}, new Error('down'));
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore });
    const failures = new Recorder<unknown>();
    const ref = system.actorOf(
      () => new ScriptedActor('f-2', persistingScript(new Recorder(), { persistFailure: (_actor, cause, event, seq) => failures.push({ cause: cause.message, event, seq }) })),
    );
    ref.tell('x');
    expect(await failures.waitFor(1)).toEqual([{ cause: 'down', event: 'x', seq: 1 }]);
  });

  it('under a BackoffSupervisor the actor comes back after a persist failure and recovers what was stored', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore });
    const log = new Recorder<unknown>();
    const restarts = new Recorder<number>();
    const supervisor = system.actorOf(
      BackoffSupervisor.props({
        child: () => new ScriptedActor('f-3', persistingScript(log)),
        childName: 'child',
        minBackoffMs: 10,
        maxBackoffMs: 50,
        onRestartScheduled: (attempt) => restarts.push(attempt),
      }),
      'backoff',
    );
    expect(await supervisor.ask('a')).toBe(1);
    journal.failWrites({ times: 1 }, new Error('transient'));
    supervisor.tell('lost');
    await restarts.waitFor(1);
    // The new incarnation replays 'a' (the failed event was never stored) and continues at 2.
    const recoveredAgain = log.values.length;
    await log.waitFor(recoveredAgain + 2);
    expect(log.values.slice(-2)).toEqual([{ replayed: 'a' }, 'recovered']);
    expect(await supervisor.ask('b')).toBe(2);
    expect(await storedPayloads(plugins.journal, 'f-3')).toEqual(['a', 'b']);
  });
});

describe('persist rejections', () => {
  class Point {
    constructor(readonly x: number) {}
  }
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  const unserializable: [string, unknown][] = [
    ['a function', { type: 'e', f: () => 1 }],
    ['a class instance', new Point(1)],
    ['a cycle', cyclic],
    ['a BigInt', { type: 'e', n: 10n }],
    ['NaN', { type: 'e', n: Number.NaN }],
    ['a Date', { at: new Date(0) }],
  ];

  for (const [what, event] of unserializable) {
    it(`an event holding ${what} is rejected before the journal: onPersistRejected, not stored, the actor goes on`, async () => {
      const plugins = memoryPlugins();
      const journal = new TestJournal(plugins.journal);
      const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore });
      const log = new Recorder<unknown>();
      const rejected = new Recorder<{ cause: Error; event: unknown; seq: number }>();
      const ref = system.actorOf(
        () =>
          new ScriptedActor('rej', {
            command(actor, command) {
              if (command === 'bad') {
                void actor.persist(event, () => log.push('handler of the rejected event ran'));
                return;
              }
              void actor.persist(command, (stored) => {
                log.push(stored);
                actor.sender.tell(actor.lastSequenceNr);
              });
            },
            persistRejected: (_actor, cause, rejectedEvent, seq) => rejected.push({ cause, event: rejectedEvent, seq }),
          }),
      );
      expect(await ref.ask('ok-1')).toBe(1);
      ref.tell('bad');
      expect(await ref.ask('ok-2')).toBe(2);
      const [rejection] = await rejected.waitFor(1);
      expect(rejection!.cause).toBeInstanceOf(SerializationError);
      expect(rejection!.event).toBe(event);
      expect(log.values).toEqual(['ok-1', 'ok-2']);
      expect(journal.calls.writeMessages).toBe(2);
      expect(await storedPayloads(plugins.journal, 'rej')).toEqual(['ok-1', 'ok-2']);
    });
  }

  it('a write the journal itself rejects: onPersistRejected, and the next event takes the free sequence number', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    journal.rejectWrites({ when: (event) => event === 'refuse me' }, new Error('too large'));
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore });
    const rejected = new Recorder<unknown>();
    const ref = system.actorOf(
      () =>
        new ScriptedActor('rej-j', {
          command(actor, command) {
            void actor.persist(command, () => actor.sender.tell(actor.lastSequenceNr));
          },
          persistRejected: (_actor, cause, event, seq) => rejected.push({ cause: cause.message, event, seq }),
        }),
    );
    expect(await ref.ask('a')).toBe(1);
    ref.tell('refuse me');
    expect(await ref.ask('b')).toBe(2);
    expect(await rejected.waitFor(1)).toEqual([{ cause: 'too large', event: 'refuse me', seq: 2 }]);
    expect(await storedPayloads(plugins.journal, 'rej-j')).toEqual(['a', 'b']);
  });
});

describe('recovery failures', () => {
  it('a throwing onRecover stops the actor; the cause is logged with the persistenceId and sequence number', async () => {
    const plugins = memoryPlugins();
    const { system: first } = testSystem(plugins);
    const writer = first.actorOf(() => new ScriptedActor('rf-1', persistingScript(new Recorder())));
    for (const event of ['a', 'b', 'poison', 'c']) await writer.ask(event);
    await first.terminate();

    const logs = captureLogs();
    const { system } = testSystem({ ...plugins, logger: logs.logger });
    const log = new Recorder<unknown>();
    const ref = system.actorOf(
      () =>
        new ScriptedActor('rf-1', {
          recover(_actor, message) {
            if (message === 'poison') throw new Error('cannot apply poison');
            log.push(message);
          },
        }),
    );
    const stopped = watchStop(system, ref);
    await stopped;
    const line = await logs.waitFor((l) => l.msg.includes('recovery of "rf-1" failed'));
    expect(line).toMatchObject({ level: 50, persistenceId: 'rf-1', sequenceNr: 3 });
    expect((line.err as { message: string }).message).toBe('cannot apply poison');
    expect(log.values).toEqual(['a', 'b']);
  });

  it('a journal that fails the replay: onRecoveryFailure with the cause, the actor stops', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    // The replay hands over the first event, then the connection breaks.
    journal.interceptReplays(async (_call, proceed) => {
      await proceed({ toSequenceNr: 1 });
      throw new Error('read error');
    });
    const { system: first } = testSystem(plugins);
    const writer = first.actorOf(() => new ScriptedActor('rf-2', persistingScript(new Recorder())));
    for (const event of ['a', 'b']) await writer.ask(event);
    await first.terminate();

    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore });
    const failures = new Recorder<unknown>();
    const ref = system.actorOf(() => new ScriptedActor('rf-2', { recoveryFailure: (actor, cause) => failures.push({ cause: cause.message, seq: actor.lastSequenceNr }) }));
    await watchStop(system, ref);
    expect(failures.values).toEqual([{ cause: 'read error', seq: 1 }]);
  });

  it('a replay that hangs fails after recoveryEventTimeoutMs with RecoveryTimeoutError', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    journal.holdReplays();
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore, persistence: { recoveryEventTimeoutMs: 200 } });
    const failures = new Recorder<{ cause: Error; at: number }>();
    const started = performance.now();
    const ref = system.actorOf(() => new ScriptedActor('rt', { recoveryFailure: (_actor, cause) => failures.push({ cause, at: performance.now() }) }));
    await watchStop(system, ref);
    const [failure] = failures.values;
    expect(failure!.cause).toBeInstanceOf(RecoveryTimeoutError);
    expect((failure!.cause as RecoveryTimeoutError).persistenceId).toBe('rt');
    const elapsed = failure!.at - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    // Not the 30 s default: the bound leaves any scheduling delay a margin of seconds.
    expect(elapsed).toBeLessThan(10_000);
  });

  it('a per-actor recoveryEventTimeoutMs overrides the system default', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    journal.holdReplays();
    const { system } = testSystem({ journal, snapshotStore: plugins.snapshotStore, persistence: { recoveryEventTimeoutMs: 60_000 } });
    const failures = new Recorder<Error>();
    const ref = system.actorOf(() => new ScriptedActor('rt-2', { recoveryFailure: (_actor, cause) => failures.push(cause) }, { recoveryEventTimeoutMs: 100 }));
    await watchStop(system, ref);
    expect(failures.values[0]).toBeInstanceOf(RecoveryTimeoutError);
  });
});

describe('journal circuit breaker', () => {
  it('after maxFailures the journal is not called until resetTimeout has passed; then one trial call closes it', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    const down = [journal.failWrites({}, new Error('db down')), journal.failReplays({}, new Error('db down'))];
    const totalCalls = (): number => journal.calls.writeMessages + journal.calls.replayMessages + journal.calls.readHighestSequenceNr;
    const resetTimeoutMs = 400;
    // The breaker's clock is performance.now: frozen, so the refusals below fall inside the open window
    // however long they take, and the window ends exactly when the test moves the clock past it.
    const clock = ManualClock.install();
    try {
      const { system } = testSystem({
        journal,
        snapshotStore: plugins.snapshotStore,
        persistence: { journalCircuitBreaker: { maxFailures: 3, callTimeoutMs: 1_000, resetTimeoutMs } },
      });
      const causes = new Recorder<Error>();
      // Each actor's recovery needs the journal; a failed recovery stops it, a fresh actor tries again.
      const attempt = (name: string): void => {
        system.actorOf(() => new ScriptedActor(name, { recoveryFailure: (_actor, cause) => causes.push(cause) }));
      };
      for (let i = 1; i <= 3; i++) {
        attempt(`cb-${i}`);
        await causes.waitFor(i);
      }
      expect(totalCalls()).toBe(3);
      for (let i = 4; i <= 8; i++) {
        attempt(`cb-${i}`);
        await causes.waitFor(i);
      }
      // Refused at once, without calling the journal, inside the open window ...
      expect(totalCalls()).toBe(3);
      // ... up to its last millisecond.
      clock.advance(resetTimeoutMs - 1);
      attempt('cb-9');
      await causes.waitFor(9);
      expect(totalCalls()).toBe(3);
      expect(causes.values.slice(3).every((cause) => cause instanceof CircuitBreakerOpenError)).toBe(true);
      for (const rule of down) rule.remove();
      clock.advance(1);
      const log = new Recorder<unknown>();
      const ref = system.actorOf(() => new ScriptedActor('cb-ok', persistingScript(log)));
      expect(await ref.ask('y')).toBe(1);
      expect(journal.calls.writeMessages).toBe(1);
      expect(totalCalls()).toBe(6);
    } finally {
      clock.restore();
    }
  });

  it('a journal call slower than callTimeoutMs counts as failed (CallTimeoutError reaches onPersistFailure)', async () => {
    const plugins = memoryPlugins();
    const journal = new TestJournal(plugins.journal);
    journal.holdWrites();
    const { system } = testSystem({
      journal,
      snapshotStore: plugins.snapshotStore,
      persistence: { journalCircuitBreaker: { maxFailures: 5, callTimeoutMs: 100, resetTimeoutMs: 1_000 } },
    });
    const causes = new Recorder<Error>();
    const ref = system.actorOf(() => new ScriptedActor('cb-t', { ...persistingScript(new Recorder()), persistFailure: (_actor, cause) => causes.push(cause) }));
    ref.tell('x');
    const [cause] = await causes.waitFor(1);
    expect((cause as Error & { code: string }).code).toBe('ERR_CALL_TIMEOUT');
  });
});
